from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from monitoring import views as monitoring_views
from versions import views as version_views
from versions.handlers import ocpi_aware_400, ocpi_aware_404, ocpi_aware_500

admin.site.site_header = "OCPI CPO administration"
admin.site.site_title = "OCPI CPO"
admin.site.index_title = "Sites, partners and deliveries"
# "View site": the API documentation (docs/openapi.md); this server has no public site.
admin.site.site_url = "/api/docs/"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/version", version_views.server_version, name="server-version"),
    path("healthz", monitoring_views.healthz, name="healthz"),
    path("metrics", monitoring_views.metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="openapi-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="openapi-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="openapi-schema"), name="api-redoc"),
    path("", include("versions.urls")),
    path("", include("partners.urls")),
    path("", include("locations.urls")),
]

handler400 = ocpi_aware_400
handler404 = ocpi_aware_404
handler500 = ocpi_aware_500
