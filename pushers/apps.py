from django.apps import AppConfig


class PushersConfig(AppConfig):
    name = "pushers"
    verbose_name = "Push to partners"

    def ready(self) -> None:
        from locations.changes import register_change_listener

        from .outbox import record_changes

        # Every change of a Location, EVSE or Connector gets its outbox row in the
        # transaction of the change.
        register_change_listener(record_changes)

        from partners.signals import partner_resumed

        from .operations import partner_resumed_full_sync

        # Nothing was pushed to a suspended partner: it gets every Location again.
        partner_resumed.connect(partner_resumed_full_sync, dispatch_uid="pushers-resume")
