from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from simple_history.signals import pre_create_historical_record

        from locations.concurrency import register_describer

        from .context import stamp_source
        from .history import changed_since

        # Each single save's history record names where it came from (bulk writes pass it
        # themselves: models.AuditHistoryManager).
        pre_create_historical_record.connect(stamp_source, dispatch_uid="audit-source")
        # A stale admin form is refused with what changed meanwhile (locations.concurrency).
        register_describer(changed_since)
