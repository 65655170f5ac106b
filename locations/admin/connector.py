"""The Connector admin: read and search only."""

from django.contrib import admin

from partners.admin_guard import ViewOnlyMixin

from ..admin_scale import LargeTableAdmin, distinct_values_filter
from ..forms import ConnectorForm
from ..models import Connector
from . import columns
from .saving import CarriesVersion


@admin.register(Connector)
class ConnectorAdmin(ViewOnlyMixin, LargeTableAdmin, CarriesVersion, admin.ModelAdmin):
    """A searchable list; Connectors are edited on their EVSE's or Location's page."""

    form = ConnectorForm
    readonly_fields = ("last_updated",)

    list_display = (
        "__str__",  # the EVSE ID (or uid) and the connector id: NL*EXA*E1 / 2
        "location_id",
        columns.plug,
        columns.power,
        columns.last_updated,
    )
    list_filter = (  # cheap choices at any size (locations/admin_scale.py)
        "power_type",
        "standard",
        "format",
        "evse__status",
        ("evse__location__country", distinct_values_filter()),
    )
    search_fields = (  # ids by prefix, words anywhere: each served by an index
        "^evse__uid",
        "^evse__evse_id",
        "^evse__location__id",
        "evse__location__name",
        "evse__location__city",
    )
    list_select_related = ("evse__location",)
    list_per_page = 100

    @admin.display(description="Location", ordering="evse__location__id")
    def location_id(self, obj):
        return obj.evse.location.id
