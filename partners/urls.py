import re

from django.urls import re_path

from .hub_views import HUBCLIENTINFO_PATH, HubClientInfoView
from .views import CredentialsView

urlpatterns = [
    re_path(r"^ocpi/2\.2\.1/credentials/?$", CredentialsView.as_view(), name="ocpi-credentials"),
    # The HubClientInfo Receiver interface lives below the module's URL only.
    re_path(
        rf"^{re.escape(HUBCLIENTINFO_PATH)}/(?P<country_code>[^/]+)/(?P<party_id>[^/]+)/?$",
        HubClientInfoView.as_view(),
        name="hubclientinfo-detail",
    ),
]
