from django.apps import AppConfig


class PushersConfig(AppConfig):
    name = "pushers"
    verbose_name = "Push to partners"

    def ready(self) -> None:
        from locations.changes import register_change_listener
        from partners.admin_hubs import register_partner_page_line
        from partners.signals import partner_registered

        from .onboarding import latest_full_sync_line, on_partner_registered
        from .outbox import record_changes

        # Every change of a Location, EVSE or Connector gets its outbox row in the
        # transaction of the change.
        register_change_listener(record_changes)
        # A partner that registers gets every Location at once (onboarding), and its admin
        # page shows how far that full sync is.
        partner_registered.connect(on_partner_registered, dispatch_uid="pushers-onboarding")
        register_partner_page_line(latest_full_sync_line)
