"""The partner admin. Partners change state only through the operations of
`admin_actions` (each calls a service); the token the partner gave us is write-only here."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from versions.urls_util import public_reverse

from .admin_actions import OPERATIONS, Operation, run_operation
from .admin_forms import IssuedTokenForm, PartnerForm, RegisterPartnerForm, TokenAForm
from .admin_guard import RefuseHiddenActionsMixin
from .admin_hubs import HubClientInfoInline, PartnerOnboardingMixin
from .models import IssuedToken, Partner, PartnerEndpoint, PartnerRole
from .registration import RegistrationFailed, partner_register
from .services import partner_create_pending, partner_set_outgoing_token


class PartnerRoleInline(admin.TabularInline):
    model = PartnerRole
    extra = 0


class PartnerEndpointInline(admin.TabularInline):
    model = PartnerEndpoint
    extra = 0
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class IssuedTokenInline(admin.TabularInline):
    model = IssuedToken
    form = IssuedTokenForm
    extra = 0
    can_delete = False
    fields = ["kind", "hint", "created_at", "revoked_at", "revoke"]
    readonly_fields = ["kind", "hint", "created_at", "revoked_at"]

    def has_add_permission(self, request, obj=None):
        return False  # tokens are issued by the operations, which show the token once

    def has_change_permission(self, request, obj=None):
        # Revoking is a token matter, not an edit of the partner's record.
        return request.user.has_perm("partners.manage_partner_tokens")

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if not self.has_change_permission(request, obj):
            return [f for f in fields if f != "revoke"]
        return fields


def _operation_action(operation: Operation):
    def action(modeladmin, request, queryset):
        return modeladmin.operation_response(request, operation, list(queryset), bulk=True)

    action.__name__ = operation.name
    return admin.action(description=operation.label, permissions=[operation.permission])(action)


@admin.register(Partner)
class PartnerAdmin(PartnerOnboardingMixin, RefuseHiddenActionsMixin, admin.ModelAdmin):
    form = PartnerForm
    list_display = ["name", "state", "party_list", "version", "live_tokens", "registered_at"]
    list_filter = ["state", "roles__role"]
    search_fields = ["name", "roles__party_id", "roles__country_code"]
    # A URL typed without a scheme means https (Django 6.0's default, adopted now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = [
        "state",
        "outgoing_token_hint",
        "created_at",
        "updated_at",
        "registered_at",
        "registered_by",
        "credentials_updated_at",
        "suspended_at",
        "unregistered_at",
        "onboarding",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": ["name", "state"],
                "description": "The state changes only through the actions (register, "
                "suspend, resume, unregister): each has its OCPI effects.",
            },
        ),
        (
            "Connection",
            {
                "fields": [
                    "versions_url",
                    "version",
                    "outgoing_token_hint",
                    "new_outgoing_token",
                    "outgoing_token_base64",
                    "incoming_raw_token_allowed",
                ]
            },
        ),
        (
            "History",
            {
                "fields": [
                    "created_at",
                    "updated_at",
                    "registered_at",
                    "registered_by",
                    "credentials_updated_at",
                    "suspended_at",
                    "unregistered_at",
                ]
            },
        ),
        (
            "Onboarding and hub",
            {"fields": ["initial_full_sync", "onboarding", "hub_accept_unannounced_parties"]},
        ),
    ]
    inlines = [PartnerRoleInline, PartnerEndpointInline, IssuedTokenInline, HubClientInfoInline]
    actions = [_operation_action(op) for op in OPERATIONS.values()]

    change_list_template = "admin/partners/partner/change_list.html"
    change_form_template = "admin/partners/partner/change_form.html"

    # --- Permissions

    def has_manage_tokens_permission(self, request, obj=None):
        return request.user.has_perm("partners.manage_partner_tokens")

    def has_delete_permission(self, request, obj=None):
        # Partners are never deleted (their deliveries and tokens tell what happened):
        # unregister instead, and filter the list by state.
        return False

    def _may(self, request, permission: str) -> bool:
        return getattr(self, f"has_{permission}_permission")(request)

    # --- Pages

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
            path(
                "<path:object_id>/operation/<str:name>/",
                self.admin_site.admin_view(self.operation_view),
                name="partners_partner_operation",
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

    def _check_onboarding_permission(self, request):
        # Registering or inviting creates a partner and issues it a token.
        if not (self.has_add_permission(request) and self.has_manage_tokens_permission(request)):
            raise PermissionDenied

    def register_view(self, request):
        """Register with a partner: versions URL + their token A; shows every step done."""
        self._check_onboarding_permission(request)
        initial = {k: request.GET[k] for k in ("name", "versions_url") if k in request.GET}
        form = RegisterPartnerForm(request.POST or None, initial=initial)
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
        self._check_onboarding_permission(request)
        form = TokenAForm(request.POST or None)
        issued = None
        if request.method == "POST" and form.is_valid():
            partner, token = partner_create_pending(name=form.cleaned_data["name"])
            issued = {"partner": partner, "token": token}
        response = TemplateResponse(
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
        response["Cache-Control"] = "no-store"
        return response

    def operation_view(self, request, object_id, name):
        """One operation on one partner, from its page: GET asks, POST does."""
        operation = OPERATIONS.get(name)
        if operation is None:
            raise Http404("No such operation")
        if not self._may(request, operation.permission):
            raise PermissionDenied
        partner = self.get_object(request, object_id)
        if partner is None:
            raise Http404("No such partner")
        return self.operation_response(request, operation, [partner], bulk=False)

    def operation_response(self, request, operation: Operation, partners, *, bulk: bool):
        """The confirmation page of `operation` (when it asks for one and was not confirmed),
        else its result: a page with the outcomes and new tokens, or messages."""
        if not self._may(request, operation.permission):
            raise PermissionDenied  # an action posted by someone the list does not offer it
        confirmed = request.method == "POST" and request.POST.get("post") == "yes"
        applies = [p for p in partners if p.state in operation.states]
        too_many = operation.max_at_once is not None and len(applies) > operation.max_at_once
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "operation": operation,
            "partners": partners,
            "bulk": bulk,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "applies": applies,
            "too_many": too_many,
        }
        if too_many or (operation.confirm and not confirmed):
            context["title"] = "Are you sure?"
            return TemplateResponse(
                request, "admin/partners/partner/operation_confirm.html", context
            )
        if request.method != "POST":
            context["title"] = operation.label
            return TemplateResponse(
                request, "admin/partners/partner/operation_confirm.html", context
            )
        outcomes = run_operation(operation, partners)
        if not operation.confirm:
            for outcome in outcomes:
                level = messages.SUCCESS if outcome.done else messages.WARNING
                self.message_user(request, outcome.text, level)
            return None if bulk else _redirect_to(partners[0])
        context["title"] = operation.label.rstrip("…")
        context["outcomes"] = outcomes
        response = TemplateResponse(request, "admin/partners/partner/operation_done.html", context)
        response["Cache-Control"] = "no-store"  # a new token is on this page: never cached
        return response

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_onboard": self.has_add_permission(request)
            and self.has_manage_tokens_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        partner = self.get_object(request, object_id)
        operations = []
        if partner is not None:
            operations = [
                op
                for op in OPERATIONS.values()
                if partner.state in op.states and self._may(request, op.permission)
            ]
        extra_context = {
            **(extra_context or {}),
            "partner_operations": operations,
            "can_register_again": partner is not None
            and partner.state in (Partner.State.PENDING, Partner.State.UNREGISTERED)
            and self.has_add_permission(request)
            and self.has_manage_tokens_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            # A read-only page shows model fields only; the form's own field has no value.
            return [
                (name, {**opts, "fields": [f for f in opts["fields"] if f != "new_outgoing_token"]})
                for name, opts in fieldsets
            ]
        return fieldsets

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        token = form.cleaned_data.get("new_outgoing_token")
        if token:
            partner_set_outgoing_token(partner=obj, token=token)

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

    @admin.display(description="Parties")
    def party_list(self, obj):
        return ", ".join(str(role) for role in obj.roles.all())

    @admin.display(description="Live tokens", ordering="_live_tokens")
    def live_tokens(self, obj):
        return obj._live_tokens

    @admin.display(description="Outgoing token")
    def outgoing_token_hint(self, obj):
        # Write-only: the last 4 characters tell tokens apart without giving one away.
        token = obj.outgoing_token if obj is not None else ""
        return f"…{token[-4:]} (set)" if token else "not set"


def _redirect_to(partner: Partner):
    return HttpResponseRedirect(reverse("admin:partners_partner_change", args=[partner.pk]))
