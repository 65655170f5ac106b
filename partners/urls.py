from django.urls import re_path

from .hub_views import HubClientInfoRootView, HubClientInfoView
from .views import CredentialsView

_HUBCLIENTINFO = r"^ocpi/cpo/2\.2\.1/hubclientinfo"

urlpatterns = [
    re_path(r"^ocpi/2\.2\.1/credentials/?$", CredentialsView.as_view(), name="ocpi-credentials"),
    re_path(rf"{_HUBCLIENTINFO}/?$", HubClientInfoRootView.as_view(), name="hubclientinfo"),
    re_path(
        rf"{_HUBCLIENTINFO}/(?P<country_code>[^/]+)/(?P<party_id>[^/]+)/?$",
        HubClientInfoView.as_view(),
        name="hubclientinfo-detail",
    ),
]
