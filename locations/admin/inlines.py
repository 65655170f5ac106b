"""The inlines of the admin pages: a Location's EVSEs, an EVSE's Connectors."""

import nested_admin

from ..forms import ConnectorForm, EVSEForm
from ..formsets import ConnectorInlineFormSet, EVSEInlineFormSet
from ..models import EVSE, Connector
from .saving import CarriesVersion


class ConnectorInline(CarriesVersion, nested_admin.NestedStackedInline):
    """Stacked, in three short rows: as a table (ten columns) it made the Location page
    1,963 px wide; these rows wrap, so the page stays within 1,280 px (docs/admin.md)."""

    model = Connector
    form = ConnectorForm
    formset = ConnectorInlineFormSet
    fields = (
        ("id", "standard", "format", "power_type"),
        ("max_voltage", "max_amperage", "max_electric_power"),
        ("tariff_ids", "terms_and_conditions", "last_updated"),
    )
    readonly_fields = ("last_updated",)
    verbose_name_plural = "Connectors (at least one per EVSE)"

    def get_extra(self, request, obj=None, **kwargs):
        # One empty row for a new EVSE; existing ones get rows with "Add another Connector".
        return 0 if obj is not None and obj.pk else 1


class EVSEInline(CarriesVersion, nested_admin.NestedStackedInline):
    model = EVSE
    form = EVSEForm
    formset = EVSEInlineFormSet
    inlines = [ConnectorInline]
    can_delete = False  # EVSEs are never deleted: set status REMOVED instead.
    show_change_link = True
    readonly_fields = ("last_updated",)
    fieldsets = (
        (None, {"fields": (("uid", "evse_id", "status"), "last_updated")}),
        (
            "Details",
            {
                "classes": ("collapse",),
                "fields": (
                    ("floor_level", "physical_reference"),
                    "coordinates",
                    "capabilities",
                    "parking_restrictions",
                    "status_schedule",
                    "directions",
                    "images",
                ),
            },
        ),
    )

    def get_extra(self, request, obj=None, **kwargs):
        return 0 if obj is not None and obj.pk else 1
