"""Roaming agreements in the admin (`locations.sharing`): the Location page's choice of
partners, and the Location list's bulk actions.

- `LocationSharingForm`: the Location form plus "Shared with": all partners, or only the
  partners ticked (none ticked: nobody); saved by `save_sharing` through the service, in the
  submit's transaction, after the Location itself.
- `share_with_all_partners`, `change_partners`: actions of the Location list; the second
  asks on an intermediate page which partners to add, remove or keep only.
Both need the change permission on Locations.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import ngettext

from partners.models import Partner

from .. import sharing
from ..forms import LocationForm, error_text
from ..models import LocationShare
from .saving import refused_as

ALL, CHOSEN = "all", "chosen"


class LocationSharingForm(LocationForm):
    sharing = forms.ChoiceField(
        label="Shared with",
        choices=[(ALL, "All partners"), (CHOSEN, "Only the partners ticked below")],
        initial=ALL,
        widget=forms.RadioSelect,
        help_text="Who receives this Location and may pull it. A partner it is no longer "
        "shared with gets it with every EVSE REMOVED, once.",
    )
    shared_with = forms.ModelMultipleChoiceField(
        queryset=Partner.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Partners",
        help_text="Used with “Only the partners ticked below”; none ticked: nobody.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        location = self.instance
        if location.pk and not location.shared_with_all:
            self.initial["sharing"] = CHOSEN
            self.initial["shared_with"] = list(
                LocationShare.objects.filter(location=location).values_list("partner", flat=True)
            )


def save_sharing(form: LocationSharingForm) -> None:
    """Save the form's sharing (after the Location: a new one exists by now)."""
    if "sharing" not in form.cleaned_data:
        return
    with refused_as(form, f"Location {form.instance.id}"):
        sharing.location_set_sharing(
            location=form.instance,
            all_partners=form.cleaned_data["sharing"] == ALL,
            partners=form.cleaned_data["shared_with"],
        )


# --- Actions of the Location list ------------------------------------------------------------


def _report(modeladmin, request, changed: int, total: int) -> None:
    text = ngettext("%(n)d Location changed.", "%(n)d Locations changed.", changed) % {"n": changed}
    if total > changed:
        text += " " + ngettext(
            "%(n)d was so already.", "%(n)d were so already.", total - changed
        ) % {"n": total - changed}
    modeladmin.message_user(request, text, messages.SUCCESS)


@admin.action(description="Share the selected Locations with all partners", permissions=["change"])
def share_with_all_partners(modeladmin, request, queryset):
    locations = list(queryset)
    _report(
        modeladmin, request, sharing.locations_share_with_all(locations=locations), len(locations)
    )


class ChangePartnersForm(forms.Form):
    ADD, REMOVE, ONLY = "add", "remove", "only"
    operation = forms.ChoiceField(
        choices=[
            (ADD, "Also share with these partners"),
            (REMOVE, "Stop sharing with these partners"),
            (ONLY, "Share only with these partners"),
        ],
        widget=forms.RadioSelect,
        help_text="Adding to a Location shared with all partners changes nothing. Stopping "
        "sharing one shared with all leaves it shared with every other partner known now. A "
        "partner that loses a Location gets it with every EVSE REMOVED, once.",
    )
    partners = forms.ModelMultipleChoiceField(
        queryset=Partner.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("operation") in (self.ADD, self.REMOVE) and not cleaned.get("partners"):
            self.add_error("partners", "Tick at least one partner.")
        return cleaned


_SERVICES = {
    ChangePartnersForm.ADD: sharing.locations_share_with,
    ChangePartnersForm.REMOVE: sharing.locations_withdraw_from,
    ChangePartnersForm.ONLY: sharing.locations_share_only_with,
}


@admin.action(description="Choose partners for the selected Locations…", permissions=["change"])
def change_partners(modeladmin, request, queryset):
    """An intermediate page: which partners, and add, remove or keep only them."""
    locations = list(queryset)
    form = ChangePartnersForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        service = _SERVICES[form.cleaned_data["operation"]]
        try:
            changed = service(locations=locations, partners=form.cleaned_data["partners"])
        except ValidationError as exc:
            modeladmin.message_user(
                request, f"Nothing was changed: {error_text(exc)}", messages.ERROR
            )
            return None
        _report(modeladmin, request, changed, len(locations))
        return None  # back to the list
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Choose partners for the selected Locations",
        "opts": modeladmin.model._meta,
        "form": form,
        "locations": locations,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "action": "change_partners",
    }
    return TemplateResponse(request, "admin/locations/location/change_partners.html", context)
