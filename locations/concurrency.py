"""Refusing saves from stale forms: optimistic concurrency of the operator admin.

An admin form carries the `version` of each object it shows (Location, EVSE, Connector) as
it was when the page was rendered. The services compare it with the stored row after
locking the Location (`locations.services`), so that a form older than the stored object
saves nothing and pushes nothing instead of silently undoing another operator's change.

The refusal names what changed meanwhile. That comes from the audit trail, which the domain
does not know: an app that keeps history registers a describer (`register_describer`, the
`audit` app does when it is ready), as the push outbox registers a change listener in
`locations.changes`. Without one the message still names the object and its last change.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db.models import Model


@dataclass(frozen=True)
class ChangedMeanwhile:
    """What happened to an object after the version a form was rendered with."""

    who: str = ""  # user names or command names, "" when unknown
    when: datetime | None = None
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (field, old, new)


Describer = Callable[[Model, int], ChangedMeanwhile | None]
_describers: list[Describer] = []


def register_describer(describer: Describer) -> None:
    if describer not in _describers:
        _describers.append(describer)


class StaleEdit(ValidationError):
    """The form was rendered from an older version of the object than the stored one."""


def _describe(stored: Model, seen_version: int) -> ChangedMeanwhile:
    for describer in _describers:
        found = describer(stored, seen_version)
        if found is not None:
            return found
    return ChangedMeanwhile()


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def check_version(stored: Model, seen_version: int | None, label: str) -> None:
    """Refuse (StaleEdit) when `seen_version` is given and is not the stored version.

    `stored` is the row read under the Location's lock, `label` names it for the operator,
    e.g. "EVSE NL*EXA*E1*1 (uid EVSE-1)". None means the caller did not render a form (API,
    commands, bulk actions): nothing to compare.
    """
    if seen_version is None or seen_version == getattr(stored, "version", None):
        return
    meanwhile = _describe(stored, seen_version)
    when = meanwhile.when or getattr(stored, "last_updated", None)
    text = f"{label} was changed by {meanwhile.who or 'someone else'}"
    if when is not None:
        text += f" at {_utc(when)}"
    if meanwhile.changes:
        text += ": " + "; ".join(f"{name} {old} → {new}" for name, old, new in meanwhile.changes)
    text += ". Reload the page; nothing was saved."
    raise StaleEdit(text, code="stale")
