from django.apps import AppConfig


class LocationsConfig(AppConfig):
    name = "locations"
    verbose_name = "Locations"

    def ready(self) -> None:
        from versions.registry import InterfaceRole, ModuleID, register_endpoint

        # The Sender interface (GET list / GET object) at ocpi/cpo/2.2.1/locations.
        register_endpoint(
            identifier=ModuleID.LOCATIONS, role=InterfaceRole.SENDER, url_name="locations"
        )
