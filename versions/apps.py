from django.apps import AppConfig


class VersionsConfig(AppConfig):
    name = "versions"
    verbose_name = "OCPI versions and transport"
