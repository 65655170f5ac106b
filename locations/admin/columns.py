"""Compact list columns, so that the Location, EVSE and Connector lists fit a 1,280 px window
with both sidebars open (issue 15, "Layout"; tests/e2e/test_admin_lists_browser.py).

Each is a plain function for `list_display`; its name gives the column's CSS class.
"""

from datetime import UTC

from django.contrib import admin

from ..models import Connector, Location


@admin.display(description="updated (UTC)", ordering="last_updated")
def last_updated(obj) -> str:
    # Django's default ("Dec. 2, 2026, 1:52 a.m.") is the widest cell of a row.
    return obj.last_updated.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


@admin.display(description="address", ordering="city")
def place(location: Location) -> str:
    return f"{location.address}, {location.city} ({location.country})"


@admin.display(description="plug", ordering="standard")
def plug(connector: Connector) -> str:
    return f"{connector.get_standard_display()}, {connector.get_format_display().lower()}"


@admin.display(description="power", ordering="power_type")
def power(connector: Connector) -> str:
    watts = connector.max_electric_power
    limit = f", max {watts / 1000:g} kW" if watts else ""
    return (
        f"{connector.get_power_type_display()}: {connector.max_voltage} V, "
        f"{connector.max_amperage} A{limit}"
    )
