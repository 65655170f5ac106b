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
