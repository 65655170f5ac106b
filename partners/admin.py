from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import path

from versions.urls_util import public_reverse

from .admin_hubs import HubClientInfoInline, PartnerOnboardingMixin
from .models import IssuedToken, Partner, PartnerEndpoint, PartnerRole
from .registration import RegistrationFailed, partner_register
from .services import partner_create_pending, partner_issue_token


class RegisterPartnerForm(forms.Form):
    versions_url = forms.URLField(max_length=255, label="Their versions URL", assume_scheme="https")
    token_a = forms.CharField(
        max_length=64,
        label="Their token A",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    name = forms.CharField(
        max_length=100, required=False, help_text="Default: the host of the versions URL."
    )
    raw_token = forms.BooleanField(
        required=False,
        label="Send the token unencoded",
        help_text="Only for partners that expect the raw token (2.1.1 habit).",
    )

    def clean_token_a(self):
        token = self.cleaned_data["token_a"]
        if not all("\x21" <= ch <= "\x7e" for ch in token):
            raise forms.ValidationError("Printable ASCII characters without spaces only.")
        return token


class TokenAForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Our name for the new partner.")

    def clean_name(self):
        name = self.cleaned_data["name"]
        if Partner.objects.filter(name=name).exists():
            raise forms.ValidationError("A partner with this name exists already.")
        return name


class PartnerRoleInline(admin.TabularInline):
    model = PartnerRole
    extra = 0


class PartnerEndpointInline(admin.TabularInline):
    model = PartnerEndpoint
    extra = 0
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class IssuedTokenInline(admin.TabularInline):
    model = IssuedToken
    extra = 0
    can_delete = False
    fields = ["kind", "hint", "created_at", "revoked_at"]
    readonly_fields = ["kind", "hint", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False  # tokens are issued by the action, which shows the token once


@admin.register(Partner)
class PartnerAdmin(PartnerOnboardingMixin, admin.ModelAdmin):
    list_display = ["name", "state", "party_list", "version", "live_tokens", "registered_at"]
    list_filter = ["state", "roles__role"]
    search_fields = ["name", "roles__party_id", "roles__country_code"]
    # A URL typed without a scheme means https (Django 6.0's default, adopted now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = ["created_at", "updated_at", "registered_at", "unregistered_at", "onboarding"]
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
        (
            "Onboarding and hub",
            {"fields": ["initial_full_sync", "onboarding", "hub_accept_unannounced_parties"]},
        ),
    ]
    inlines = [PartnerRoleInline, PartnerEndpointInline, IssuedTokenInline, HubClientInfoInline]
    actions = ["issue_token_c"]

    change_list_template = "admin/partners/partner/change_list.html"

    def get_urls(self):
        own = [
            path(
                "register/",
                self.admin_site.admin_view(self.register_view),
                name="partners_partner_register",
            ),
            path(
                "token-a/",
                self.admin_site.admin_view(self.token_a_view),
                name="partners_partner_token_a",
            ),
        ]
        return own + super().get_urls()

    def _context(self, request, title, form, **extra):
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "form": form,
            **extra,
        }

    def register_view(self, request):
        """Register with a partner: versions URL + their token A; shows every step done."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = RegisterPartnerForm(request.POST or None)
        report = failure = None
        if request.method == "POST" and form.is_valid():
            try:
                report = partner_register(
                    versions_url=form.cleaned_data["versions_url"],
                    token_a=form.cleaned_data["token_a"],
                    name=form.cleaned_data["name"] or None,
                    base64_token=not form.cleaned_data["raw_token"],
                )
            except RegistrationFailed as exc:
                failure = exc
        return TemplateResponse(
            request,
            "admin/partners/partner/register.html",
            self._context(request, "Register with a partner", form, report=report, failure=failure),
        )

    def token_a_view(self, request):
        """Offline provisioning: a pending partner and its token A, shown once."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TokenAForm(request.POST or None)
        issued = None
        if request.method == "POST" and form.is_valid():
            partner, token = partner_create_pending(name=form.cleaned_data["name"])
            issued = {"partner": partner, "token": token}
        return TemplateResponse(
            request,
            "admin/partners/partner/token_a.html",
            self._context(
                request,
                "Invite a partner with a token A",
                form,
                issued=issued,
                versions_url=public_reverse("ocpi-versions"),
            ),
        )

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

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
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
