from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "OCPI partners"

    def ready(self):
        from versions.registry import register_endpoint

        # The credentials endpoint is the same for every role; the spec advises SENDER.
        register_endpoint(identifier="credentials", role="SENDER", url_name="ocpi-credentials")
