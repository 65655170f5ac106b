"""The Location list's Import… and Export… pages (docs/admin.md, "Import and export").

Import…: upload an OCPI 2.2.1 Locations JSON file (a list or an envelope) or the CSV of
`ocpi_export --format csv`. The file is kept on the server (`locations.import_uploads`), a
dry run shows per Location what would change, and only the confirmation imports it, through
the same code as `manage.py ocpi_import` (`locations.importing`: the services, so every change
is pushed; each Location all or nothing). It runs in the request, bounded by
`OCPI_ADMIN_IMPORT_MAX_BYTES` and `OCPI_ADMIN_IMPORT_MAX_LOCATIONS`; larger files go through
the command. Needs the add and change permissions of Locations.

Export…: the whole set or the Locations of the current (filtered, searched) list, as OCPI JSON
or CSV, streamed as it is read. Needs the view permission.
"""

import copy

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode

from audit.context import acting_as

from ..exporting import csv_pieces, json_pieces
from ..import_csv import scan_csv
from ..import_files import ImportFileError, input_format, scan
from ..import_uploads import (
    UploadRefused,
    delete_expired,
    keep_upload,
    pending_import,
)
from ..importing import Outcome, Totals, import_stream


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="OCPI 2.2.1 Locations JSON (a list of Locations, or an OCPI envelope around "
        "it) or CSV with the columns of an export (one row per Connector)."
    )
    format = forms.ChoiceField(
        choices=[
            ("", "By the file name (.csv: CSV, else JSON)"),
            ("json", "JSON"),
            ("csv", "CSV"),
        ],  # fmt: skip
        required=False,
    )


class ExportForm(forms.Form):
    format = forms.ChoiceField(
        choices=[
            ("json", "OCPI JSON (a list of Locations)"),
            ("csv", "CSV (one row per Connector)"),
        ],
        widget=forms.RadioSelect,
        initial="json",  # fmt: skip
    )
    scope = forms.ChoiceField(
        choices=[("filtered", "The Locations of the list as filtered"), ("all", "All")],
        widget=forms.RadioSelect,
        initial="filtered",
    )


class ImportExportMixin(admin.ModelAdmin):
    """Mixed into LocationAdmin: the two pages and the links to them on the list."""

    change_list_template = "admin/locations/location/change_list.html"

    def get_urls(self):
        own = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="locations_location_import",
            ),
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="locations_location_export",
            ),
        ]
        return own + super().get_urls()

    def has_import_permission(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(self, request, extra_context=None):
        filters = request.GET.urlencode()
        export_url = reverse("admin:locations_location_export")
        if filters:
            export_url += "?" + urlencode({"_changelist_filters": filters})
        extra = {"may_import": self.has_import_permission(request), "export_url": export_url}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def _page(self, request, template: str, title: str, **context) -> TemplateResponse:
        return TemplateResponse(
            request,
            f"admin/locations/location/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                **context,
            },  # fmt: skip
        )

    # --- Import…

    def import_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        delete_expired()
        if request.method == "POST" and "token" in request.POST:
            return self._confirm(request, request.POST["token"])
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            return self._dry_run(request, form)
        return self._refused(request, form, "")

    def _refused(self, request, form, message: str) -> TemplateResponse:
        """The upload form, with why the file was refused (nothing was saved)."""
        return self._page(
            request,
            "import.html",
            "Import Locations",
            form=form,
            refused=message,
            max_bytes=settings.OCPI_ADMIN_IMPORT_MAX_BYTES,
            max_locations=settings.OCPI_ADMIN_IMPORT_MAX_LOCATIONS,
        )

    def _dry_run(self, request, form: ImportForm):
        upload = form.cleaned_data["file"]
        file_format = input_format(upload.name, form.cleaned_data["format"])
        try:
            pending = keep_upload(upload, user_id=request.user.pk, file_format=file_format)
        except UploadRefused as exc:
            return self._refused(request, form, str(exc))
        limit = settings.OCPI_ADMIN_IMPORT_MAX_LOCATIONS
        try:
            with pending.open() as stream:
                found = scan_csv(stream) if file_format == "csv" else scan(stream)
                if found.count > limit:
                    raise ImportFileError(
                        f"The file holds {found.count:,} Locations, more than the {limit:,} "
                        "this page imports at once; use `manage.py ocpi_import` (docs/admin.md)"
                        ". Nothing was imported."
                    )
                outcomes, totals = self._run(stream, file_format, dry_run=True)
        except ImportFileError as exc:
            pending.discard()
            return self._refused(request, form, str(exc))
        return self._page(
            request,
            "import_report.html",
            "Import Locations: dry run",
            pending=pending,
            outcomes=outcomes,
            totals=totals,
            dry_run=True,
            importable=totals.created + totals.updated,
        )

    def _confirm(self, request, token: str):
        try:
            pending = pending_import(token, user_id=request.user.pk)
        except UploadRefused as exc:
            return self._refused(request, ImportForm(), str(exc))
        try:
            # The history says who (the request's user) and from which file.
            with pending.open() as stream, acting_as(f"admin import {pending.name}"):
                outcomes, totals = self._run(stream, pending.format, dry_run=False)
        except ImportFileError as exc:  # the file was checked by the dry run; kept for sure
            return self._refused(request, ImportForm(), str(exc))
        finally:
            pending.discard()
        level = messages.WARNING if totals.refused else messages.SUCCESS
        self.message_user(request, _summary(totals, dry_run=False), level)
        return self._page(
            request,
            "import_report.html",
            "Import Locations: done",
            pending=pending,
            outcomes=outcomes,
            totals=totals,
            dry_run=False,
        )

    @staticmethod
    def _run(stream, file_format: str, *, dry_run: bool) -> tuple[list[Outcome], Totals]:
        outcomes: list[Outcome] = []
        totals = import_stream(
            stream, dry_run=dry_run, on_outcome=outcomes.append, format=file_format
        )
        return outcomes, totals

    # --- Export…

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        filters = request.GET.get("_changelist_filters", "")
        form = ExportForm(request.GET if "format" in request.GET else None)
        if form.is_bound and form.is_valid():
            only = None
            if form.cleaned_data["scope"] == "filtered" and filters:
                only = self._filtered(request, filters)
            return _download(form.cleaned_data["format"], only)
        filtered = self._filtered(request, filters).count() if filters else None
        return self._page(
            request,
            "export.html",
            "Export Locations",
            form=form,
            filters=filters,
            filtered_count=filtered,
            total=self.model.objects.count(),
        )

    def _filtered(self, request, filters: str) -> QuerySet:
        """The Locations of the list with these query parameters (filters, search)."""
        listing = copy.copy(request)
        listing.GET = QueryDict(filters)
        changelist = self.get_changelist_instance(listing)
        return changelist.get_queryset(listing)


def _summary(totals: Totals, *, dry_run: bool) -> str:
    would = "would be " if dry_run else ""
    return (
        f"{totals.created} {would}created, {totals.updated} {would}updated, "
        f"{totals.unchanged} unchanged, {totals.refused} refused."
    )


def _download(file_format: str, only: QuerySet | None) -> StreamingHttpResponse:
    """The export as an attachment, written as it is read (a chunk of Locations at a time)."""
    if file_format == "csv":
        body = (piece.encode() for piece in csv_pieces(only=only))
        content_type = "text/csv; charset=utf-8"
    else:
        body = json_pieces(only=only)
        content_type = "application/json"
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="locations.{file_format}"'
    return response
