from django.urls import re_path

from . import api

# Trailing slashes are optional, as on the versions endpoints. A segment is anything but `/`;
# ids that cannot exist simply answer 404 / 2003.
_BASE = r"^ocpi/cpo/2\.2\.1/locations"
_SEGMENT = r"[^/]+"

urlpatterns = [
    re_path(rf"{_BASE}/?$", api.LocationListView.as_view(), name="locations"),
    re_path(
        rf"{_BASE}/(?P<location_id>{_SEGMENT})/?$",
        api.LocationObjectView.as_view(),
        name="location-detail",
    ),
    re_path(
        rf"{_BASE}/(?P<location_id>{_SEGMENT})/(?P<evse_uid>{_SEGMENT})/?$",
        api.LocationObjectView.as_view(),
        name="evse-detail",
    ),
    re_path(
        rf"{_BASE}/(?P<location_id>{_SEGMENT})/(?P<evse_uid>{_SEGMENT})"
        rf"/(?P<connector_id>{_SEGMENT})/?$",
        api.LocationObjectView.as_view(),
        name="connector-detail",
    ),
]
