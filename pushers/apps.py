from django.apps import AppConfig


class PushersConfig(AppConfig):
    name = "pushers"
    verbose_name = "Push to partners"
