from django.apps import AppConfig


class PushersConfig(AppConfig):
    name = "pushers"
    verbose_name = "Push to partners"

    def ready(self) -> None:
        from locations.changes import register_change_listener
        from partners.admin_hubs import register_partner_page_line
        from partners.signals import partner_registered, partner_resumed

        from .onboarding import latest_full_sync_line, on_partner_registered
        from .operations import partner_resumed_full_sync
        from .outbox import record_change_set, record_changes

        # Every change of a Location, EVSE or Connector gets its outbox row in the
        # transaction of the change.
        register_change_listener(record_changes, record_change_set)
        # Nothing was pushed to a suspended partner: it gets every Location again.
        partner_resumed.connect(partner_resumed_full_sync, dispatch_uid="pushers-resume")
        # A partner that registers gets every Location at once (onboarding), and its admin
        # page shows how far that full sync is.
        partner_registered.connect(on_partner_registered, dispatch_uid="pushers-onboarding")
        register_partner_page_line(latest_full_sync_line)
