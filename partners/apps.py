from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "OCPI partners"

    def ready(self) -> None:
        from versions.auth import register_token_lookup
        from versions.registry import InterfaceRole, ModuleID, register_endpoint

        from .hub_views import HUBCLIENTINFO_PATH
        from .selectors import issued_token_for_header

        # The credentials endpoint is the same for every role; the spec advises SENDER.
        register_endpoint(
            identifier=ModuleID.CREDENTIALS,
            role=InterfaceRole.SENDER,
            url_name="ocpi-credentials",
        )
        # HubClientInfo: a hub pushes the parties it connects (OCPI 2.2.1, HubClientInfo
        # module; a CPO implements its Receiver interface).
        register_endpoint(
            identifier=ModuleID.HUB_CLIENT_INFO,
            role=InterfaceRole.RECEIVER,
            path=HUBCLIENTINFO_PATH,
        )
        # Our token authentication (versions.auth) looks tokens up among those we issued.
        register_token_lookup(issued_token_for_header)

        from django.db.models.signals import post_migrate

        from .staff_roles import on_post_migrate

        # The staff groups (docs/admin.md, "Staff roles") after every migrate.
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="partners-staff-roles")
