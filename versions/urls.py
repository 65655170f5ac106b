from django.urls import re_path

from . import views

# Trailing slashes are optional: partners join URLs in both styles (the OCPI 2.2.1 examples
# put a slash before the query, `.../cdrs/?offset=150`; the 2.2.1-d2 edition dropped it).
urlpatterns = [
    re_path(r"^ocpi/versions/?$", views.VersionListView.as_view(), name="ocpi-versions"),
    re_path(r"^ocpi/2\.2\.1/?$", views.VersionDetailsView.as_view(), name="ocpi-version-details"),
]
