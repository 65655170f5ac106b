"""The audit trail: a history record of every change of a Location, EVSE, Connector and
Partner, with who made it, when, and (by comparing it with the record before) the old and
new value of each field (docs/admin.md, "History").

django-simple-history keeps the records: one historical table per model, in this app, each
row a copy of the object's fields after a change, with the user (from the request) and the
source (`audit.context`). Single saves are recorded by model signals; bulk writes send no
signals, so the services write their records with the library's bulk helpers
(`locations.services`, `locations.bulk`), which pass the source through
`AuditHistoryManager`.

Not recorded: `last_updated` (every change moves it; the record's date says when) and, of a
Partner, the token they gave us (a secret must not be copied anywhere) and `updated_at`.
"""

from datetime import datetime

from django.conf import settings
from django.db import connection, models
from django.db.models import Value
from simple_history import register
from simple_history.manager import HistoryManager
from simple_history.models import HistoricalRecords

from locations.models import EVSE, Connector, Location
from partners.models import Partner

from .context import SOURCE_MAX_LENGTH, current_source


class AuditFields(models.Model):
    """Fields every history record has besides the library's own."""

    history_source = models.CharField(
        max_length=SOURCE_MAX_LENGTH,
        blank=True,
        help_text="Where the change came from: request, command or task.",
    )

    class Meta:
        abstract = True


class AuditHistoryManager(HistoryManager):
    """Bulk-written records get their source too (single saves: `context.stamp_source`)."""

    def bulk_history_create(
        self,
        objs,
        batch_size=None,
        update=False,
        default_user=None,
        default_change_reason="",
        default_date=None,
        custom_historical_attrs=None,
    ):
        return super().bulk_history_create(
            objs,
            batch_size=batch_size,
            update=update,
            default_user=default_user,
            default_change_reason=default_change_reason,
            default_date=default_date,
            custom_historical_attrs={
                "history_source": current_source(),
                **(custom_historical_attrs or {}),
            },
        )

    def bulk_history_copy(self, rows: models.QuerySet, *, default_date: datetime) -> int:
        """A "changed" record of each of these rows as stored now, in one `INSERT … SELECT`
        whatever their number (the rows do not go through Python), with what
        `bulk_history_create` gives each record: the date, the user of the request, the
        source. For set-based writes (`locations.bulk_changes`); run it after the UPDATE."""
        if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
            return 0
        history = self.model
        user = history.get_default_history_user(None)
        copied = [field.attname for field in history.tracked_fields]
        extra = {
            "history_date": Value(default_date, output_field=models.DateTimeField()),
            "history_type": Value("~"),
            "history_change_reason": Value(None, output_field=models.CharField()),
            "history_user_id": Value(user.pk if user else None, output_field=models.IntegerField()),
            "history_source": Value(current_source()),
        }
        select = rows.order_by("pk").values_list(*copied, *extra.values())
        sql, params = select.query.sql_with_params()
        quote = connection.ops.quote_name
        columns = ", ".join(
            quote(history._meta.get_field(name).column) for name in [*copied, *extra]
        )
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {quote(history._meta.db_table)} ({columns}) {sql}", params)
            return cursor.rowcount


class AuditRecords(HistoricalRecords):
    """Historical fields are plain copies: a record is never validated or shown in a form,
    and without the validators, help texts, labels and choices of the recorded models an
    edit of those does not need a migration of the history tables."""

    def copy_fields(self, model):
        fields = super().copy_fields(model)
        for field in fields.values():
            field._validators = []
            field.__dict__.pop("validators", None)  # a cached_property
            field.help_text, field.choices = "", None
            field.verbose_name = field._verbose_name = None  # deconstruct() reads the latter
        return fields


_OPTIONS = {
    "app": "audit",
    "records_class": AuditRecords,
    "bases": [AuditFields],
    "history_manager": AuditHistoryManager,
}

for _model in (Location, EVSE, Connector):
    register(_model, excluded_fields=["last_updated"], **_OPTIONS)
register(Partner, excluded_fields=["outgoing_token", "updated_at"], **_OPTIONS)
