"""The partner page's hub and onboarding parts: the ClientInfo a hub pushed (read-only: the
hub owns them, OCPI 2.2.1, HubClientInfo module) and lines from the apps above `partners`
(the push app's full sync progress), which this app must not import.
"""

from collections.abc import Callable

from django.contrib import admin
from django.utils.html import format_html_join

from .models import HubClientInfo, Partner

PartnerPageLine = Callable[[Partner], str]
_partner_page_lines: list[PartnerPageLine] = []


def register_partner_page_line(line: PartnerPageLine) -> None:
    """Add a read-only line about a partner to its admin page (called in AppConfig.ready)."""
    if line not in _partner_page_lines:
        _partner_page_lines.append(line)


class HubClientInfoInline(admin.TabularInline):
    model = HubClientInfo
    extra = 0
    can_delete = False
    verbose_name = "party reachable through this hub (ClientInfo)"
    verbose_name_plural = "parties reachable through this hub (ClientInfo, pushed by the hub)"
    fields = ["country_code", "party_id", "role", "status", "last_updated", "received_at"]
    readonly_fields = ["country_code", "party_id", "role", "status", "last_updated", "received_at"]

    def has_add_permission(self, request, obj=None):
        return False  # the hub owns ClientInfo objects; it pushes them

    def has_change_permission(self, request, obj=None):
        return False


class PartnerOnboardingMixin:
    """For PartnerAdmin: the read-only `onboarding` field (one line per registered app)."""

    @admin.display(description="Onboarding")
    def onboarding(self, obj: Partner | None) -> str:
        if obj is None or obj.pk is None:
            return "-"
        lines = [line(obj) for line in _partner_page_lines]
        return format_html_join("", "<div>{}</div>", ((text,) for text in lines)) or "-"
