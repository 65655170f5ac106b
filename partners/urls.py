from django.urls import re_path

from .views import CredentialsView

urlpatterns = [
    re_path(r"^ocpi/2\.2\.1/credentials/?$", CredentialsView.as_view(), name="ocpi-credentials"),
]
