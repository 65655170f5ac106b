from django.urls import re_path

from . import views

# Trailing slashes are optional: partners join URLs in both styles (field-lessons §13).
urlpatterns = [
    re_path(r"^ocpi/versions/?$", views.VersionListView.as_view(), name="ocpi-versions"),
    re_path(r"^ocpi/2\.2\.1/?$", views.VersionDetailsView.as_view(), name="ocpi-version-details"),
]
