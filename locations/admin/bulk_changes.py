"""The Bulk changes page: the admin's bulk actions queued for a worker (more rows than
ADMIN_BULK_IN_REQUEST) with their progress. Read-only: the jobs are made by the actions of
the EVSE and Location lists and run by `locations.bulk_jobs`."""

from django.contrib import admin

from partners.admin_guard import ViewOnlyMixin

from .. import bulk_jobs
from ..models import BulkChange


@admin.register(BulkChange)
class BulkChangeAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "what", "requested_by", "created_at", "progress")
    list_filter = ("kind",)
    fields = readonly_fields = ("what", "requested_by", "created_at", "finished_at", "progress")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("ids")  # the selection: up to 100,000s ids

    @admin.display(description="bulk change")
    def what(self, obj):
        return bulk_jobs.describe(obj)

    @admin.display(description="progress (rows done / total)")
    def progress(self, obj):
        return bulk_jobs.progress(obj)
