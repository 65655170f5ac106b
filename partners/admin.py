from django.contrib import admin, messages
from django.db.models import Count, Q

from .models import IssuedToken, Partner, PartnerEndpoint, PartnerRole
from .services import partner_issue_token


class PartnerRoleInline(admin.TabularInline):
    model = PartnerRole
    extra = 0


class PartnerEndpointInline(admin.TabularInline):
    model = PartnerEndpoint
    extra = 0


class IssuedTokenInline(admin.TabularInline):
    model = IssuedToken
    extra = 0
    can_delete = False
    fields = ["kind", "hint", "created_at", "revoked_at"]
    readonly_fields = ["kind", "hint", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False  # tokens are issued by the action, which shows the token once


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "state", "party_list", "version", "live_tokens", "registered_at"]
    list_filter = ["state", "roles__role"]
    search_fields = ["name", "roles__party_id", "roles__country_code"]
    readonly_fields = ["created_at", "updated_at", "registered_at", "unregistered_at"]
    fieldsets = [
        (None, {"fields": ["name", "state"]}),
        (
            "Connection",
            {
                "fields": [
                    "versions_url",
                    "version",
                    "outgoing_token",
                    "outgoing_token_base64",
                    "incoming_raw_token_allowed",
                ]
            },
        ),
        ("History", {"fields": ["created_at", "updated_at", "registered_at", "unregistered_at"]}),
    ]
    inlines = [PartnerRoleInline, PartnerEndpointInline, IssuedTokenInline]
    actions = ["issue_token_c"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("roles")
            .annotate(
                _live_tokens=Count(
                    "issued_tokens", filter=Q(issued_tokens__revoked_at__isnull=True)
                )
            )
        )

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        # The stored token is needed to call the partner, but need not be shown again.
        form.base_fields["outgoing_token"].widget.attrs["autocomplete"] = "off"
        return form

    @admin.display(description="Parties")
    def party_list(self, obj):
        return ", ".join(str(role) for role in obj.roles.all())

    @admin.display(description="Live tokens", ordering="_live_tokens")
    def live_tokens(self, obj):
        return obj._live_tokens

    @admin.action(description="Issue a new token C (shown once) and revoke the old ones")
    def issue_token_c(self, request, queryset):
        for partner in queryset:
            token = partner_issue_token(partner=partner, kind=IssuedToken.Kind.C)
            self.message_user(
                request,
                f"New token for {partner.name} (copy it now, it is not stored): {token}",
                level=messages.WARNING,
            )
