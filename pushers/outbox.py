"""Recording changes for push. Called only by `locations.services`, inside its transaction."""

from datetime import datetime

from .models import ChangeRecord


def record_change(
    *,
    level: str,
    method: str,
    location_row_id: int,
    last_updated: datetime,
    evse_row_id: int | None = None,
    connector_row_id: int | None = None,
    fields: list[str] | None = None,
) -> ChangeRecord:
    return ChangeRecord.objects.create(
        level=level,
        method=method,
        location_id=location_row_id,
        evse_id=evse_row_id,
        connector_id=connector_row_id,
        fields=fields or [],
        last_updated=last_updated,
    )
