"""What the bulk actions of the Location and EVSE lists share (docs/admin.md).

- Every action declares the permission it needs (`allowed_permissions`); Django then hides
  it from users without that permission, and `RefusesHiddenActions` answers a POST of it
  anyway with 403 instead of Django's silent "no action selected".
- Irreversible actions ask first, on a page of their own (`confirmation_page`), like
  Django's delete confirmation: the objects, a confirm button and a way back. Only the POST
  of that page (`post=yes`) acts.
- Outcomes are messages of their level: changes SUCCESS, what was already so INFO,
  refusals WARNING or ERROR.
- More rows than ADMIN_BULK_IN_REQUEST are not written in the request: `queued` hands them
  to a worker (`locations.bulk_jobs`) and links the job's progress.
"""

from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from .. import bulk_jobs


class RefusesHiddenActions:
    """403 for a POST of one of this admin's actions that the user may not run."""

    def changelist_view(self, request, extra_context=None):
        name = request.POST.get("action") if request.method == "POST" else None
        known = {a if isinstance(a, str) else a.__name__ for a in self.actions or ()}
        if name in known and name not in self.get_actions(request):
            raise PermissionDenied(f"You may not run the action {name!r}.")
        return super().changelist_view(request, extra_context)


def confirmed(request) -> bool:
    """The POST comes from an action's confirmation page."""
    return request.POST.get("post") == "yes"


def confirmation_page(modeladmin, request, queryset, *, action: str, template: str, **context):
    """The page asking to confirm `action` on the selected objects (`queryset`).

    A selection made with "Select all N" is confirmed the same way (`select_across` and the
    list's filters in the URL the form posts back to), never as one field per row: N may be
    100,000 (docs/admin.md, "Large lists")."""
    opts = modeladmin.model._meta
    select_across = request.POST.get("select_across") == "1"
    pks = queryset.values_list("pk", flat=True)
    return TemplateResponse(
        request,
        template,
        {
            **modeladmin.admin_site.each_context(request),
            "opts": opts,
            "app_label": opts.app_label,
            "action_name": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            # Django wants one ticked row even with select_across; it then acts on all.
            "selected_pks": [str(pk) for pk in (pks[:1] if select_across else pks)],
            "select_across": select_across,
            "media": modeladmin.media,
            **context,
        },
    )


def count(n: int, singular: str, plural: str) -> str:
    return f"{n} {ngettext(singular, plural, n)}"


def report(modeladmin, request, *, done: str = "", already: str = "", refused: str = "") -> None:
    """One message per kind of outcome, each at its level; nothing at all done is a warning."""
    if done:
        modeladmin.message_user(request, done, messages.SUCCESS)
    if already:
        modeladmin.message_user(request, already, messages.INFO if done else messages.WARNING)
    if refused:
        modeladmin.message_user(request, refused, messages.WARNING)


def queued(modeladmin, request, *, kind: str, value: str, ids: list[int]) -> None:
    """Queue a bulk change of these rows for a worker and say where its progress shows."""
    job = bulk_jobs.request(
        kind=kind, value=value, ids=ids, requested_by=request.user.get_username()
    )
    url = reverse("admin:locations_bulkchange_change", args=[job.pk])
    modeladmin.message_user(
        request,
        format_html(
            '{} queued as <a href="{}">bulk change #{}</a>: a worker applies it '
            "{} rows at a time; its progress shows under Bulk changes.",
            bulk_jobs.describe(job),
            url,
            job.pk,
            bulk_jobs.bulk_changes.BATCH,
        ),
        messages.SUCCESS,
    )
