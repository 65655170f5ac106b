"""Data quality in the Location and EVSE admin (docs/admin.md, "Data quality").

- `QualityFilter` and `quality_column`: the Location list's filter and column, read from the
  stored results (`locations.quality_store`, joined with the list's one query);
- `ShowsQuality`: the report on the Location page (`location_issues`, errors first, each
  naming its object and field), and after every save of a Location or EVSE the Location's
  stored result refreshed and a warning, which does not block the save, for coordinates
  that look wrong (0,0, outside the Location's country).
"""

from django.contrib import admin, messages
from django.utils.html import format_html

from .. import quality_store
from ..models import EVSE, Location, LocationQuality
from ..quality import location_issues, location_label, with_children
from ..quality_rules import Issue

# Findings shown as a warning right after a save (the rules are in `quality_rules`).
COORDINATE_WARNINGS = ("ocpi.coordinates_null_island", "ocpi.coordinates_country")


class QualityFilter(admin.SimpleListFilter):
    title = "data quality"
    parameter_name = "quality"

    def lookups(self, request, model_admin):
        return (
            ("errors", "With errors"),
            ("warnings", "With warnings"),
            ("clean", "Clean"),
            ("unchecked", "Not checked yet"),
        )

    def queryset(self, request, queryset):
        return {
            "errors": lambda: queryset.filter(quality__errors__gt=0),
            "warnings": lambda: queryset.filter(quality__warnings__gt=0),
            "clean": lambda: queryset.filter(quality__errors=0, quality__warnings=0),
            "unchecked": lambda: queryset.filter(quality__isnull=True),
        }.get(self.value() or "", lambda: queryset)()


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@admin.display(description="Data quality", ordering="quality__errors")
def quality_column(location: Location) -> str:
    """ "3 issues (1 error)", linked to the Location's report; needs `quality` selected
    with the list (`list_select_related`)."""
    try:
        quality = location.quality
    except LocationQuality.DoesNotExist:
        return "not checked"
    total = quality.errors + quality.warnings
    if not total:
        return "clean"
    text = _plural(total, "issue")
    if quality.errors:
        text += f" ({_plural(quality.errors, 'error')})"
    css = "quality-errors" if quality.errors else "quality-warnings"
    return format_html(
        '<a class="{}" href="{}" title="checked {}">{}</a>',
        css,
        quality_store.report_url(location.pk),
        quality.checked_at.strftime("%Y-%m-%d %H:%M UTC"),
        text,
    )


def quality_report(row_id: int) -> list[Issue]:
    """Every finding of the Location, errors first (3 queries: Location, EVSEs, Connectors)."""
    return location_issues(with_children(Location.objects.filter(pk=row_id)).get())


class ShowsQuality(admin.ModelAdmin):
    """For the Location and EVSE ModelAdmins (see the module doc)."""

    def render_change_form(self, request, context, *args, **kwargs):
        obj = kwargs.get("obj")
        if isinstance(obj, Location) and obj.pk:
            context["quality_issues"] = quality_report(obj.pk)
        return super().render_change_form(request, context, *args, **kwargs)

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        self._after_save(request, obj)
        return response

    def response_change(self, request, obj):
        response = super().response_change(request, obj)
        self._after_save(request, obj)
        return response

    def _after_save(self, request, obj) -> None:
        location = obj.location if isinstance(obj, EVSE) else obj
        issues = quality_store.refresh_locations([location.pk])[location.pk]
        # The Location page: its own and its EVSEs' coordinates; the EVSE page: the EVSE's.
        label = location_label(location)
        if isinstance(obj, EVSE):
            label = f"{label} / EVSE {obj.uid}"
        for issue in issues:
            if issue.rule in COORDINATE_WARNINGS and (
                issue.object == label or (obj is location and issue.object.startswith(label))
            ):
                messages.warning(
                    request,
                    f"Saved, but check the coordinates of {issue.object}: {issue.message}.",
                )
