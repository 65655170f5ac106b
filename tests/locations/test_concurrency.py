"""No lost updates, in the services: an update or delete from a form rendered from an older
version of the object than the stored one is refused, names what changed meanwhile, and
writes, records and pushes nothing (locations/concurrency.py)."""

import re

import pytest

from audit.context import acting_as
from locations import services
from locations.concurrency import StaleEdit
from locations.enums import Status
from locations.models import EVSE, Connector, Location
from pushers.models import ChangeRecord

WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"


def fresh(obj):
    """A new copy of `obj` read from the database, as a form would be built from it."""
    return type(obj).objects.get(pk=obj.pk)


def history_count() -> int:
    return sum(model.history.count() for model in (Location, EVSE, Connector))


class Untouched:
    """The site's rows, change records and history before a refused save."""

    def __init__(self, site: Location):
        self.site = site
        self.rows = self._rows()
        self.records = ChangeRecord.objects.count()
        self.history = history_count()

    def _rows(self):
        return (
            list(Location.objects.filter(pk=self.site.pk).values()),
            list(EVSE.objects.filter(location=self.site).order_by("pk").values()),
            list(Connector.objects.filter(evse__location=self.site).order_by("pk").values()),
        )

    def check(self) -> None:
        assert self._rows() == self.rows
        assert ChangeRecord.objects.count() == self.records
        assert history_count() == self.history


def refusal(exc_info) -> str:
    (message,) = exc_info.value.messages
    return message


def test_an_evse_saved_from_an_older_version_is_refused_naming_what_changed(site):
    evse = fresh(site.evses.get())
    seen = evse.version
    with acting_as("command fix_statuses"):
        other = fresh(evse)
        other.status = Status.CHARGING
        services.evse_update(evse=other)
    before = Untouched(site)

    evse.floor_level = "2"  # the operator's own edit, on a page that still shows AVAILABLE
    with pytest.raises(StaleEdit) as refused:
        services.evse_update(evse=evse, seen_version=seen)

    assert re.fullmatch(
        rf"EVSE {re.escape(evse.evse_id)} \(uid {evse.uid}\) was changed by command "
        rf"fix_statuses at {WHEN}: status AVAILABLE → CHARGING\. Reload the page; nothing was "
        r"saved\.",
        refusal(refused),
    ), refusal(refused)
    before.check()


def test_an_evse_saved_from_the_stored_version_is_saved_and_its_version_counts_up(site):
    evse = fresh(site.evses.get())
    assert evse.version == 1

    evse.status = Status.CHARGING
    assert services.evse_update(evse=evse, seen_version=1) == ["status"]

    assert fresh(evse).version == 2
    assert fresh(evse).status == Status.CHARGING


def test_saving_unchanged_values_keeps_the_version(site):
    evse = fresh(site.evses.get())
    assert services.evse_update(evse=evse, seen_version=1) == []
    location = fresh(site)
    assert services.location_update(location=location, seen_version=1) == []
    assert (fresh(evse).version, fresh(site).version) == (1, 1)


def test_callers_without_a_form_pass_no_version_and_are_not_checked(site):
    """API and commands render no form: the last write wins, as before."""
    stale = fresh(site.evses.get())
    other = fresh(stale)
    other.status = Status.CHARGING
    services.evse_update(evse=other)

    stale.status = Status.BLOCKED
    assert services.evse_update(evse=stale) == ["status"]
    assert fresh(stale).status == Status.BLOCKED and fresh(stale).version == 3


def test_a_location_saved_from_an_older_version_is_refused_naming_the_renaming(site):
    location = fresh(site)
    with acting_as("command rename_sites"):
        other = fresh(site)
        other.name = "Station Square West"
        services.location_update(location=other)
    before = Untouched(site)

    location.city = "Amersfoort"
    with pytest.raises(StaleEdit) as refused:
        services.location_update(location=location, seen_version=1)

    assert re.fullmatch(
        rf"Location {site.id} was changed by command rename_sites at {WHEN}: name "
        rf"{re.escape(site.name)} → Station Square West\. Reload the page; nothing was saved\.",
        refusal(refused),
    ), refusal(refused)
    before.check()


def test_an_evse_change_does_not_make_its_locations_form_stale(site):
    """Versions count an object's own fields: a Location form is not refused for a change
    of one of its EVSEs (that EVSE's own form is)."""
    location = fresh(site)
    evse = fresh(site.evses.get())
    evse.status = Status.CHARGING
    services.evse_update(evse=evse, seen_version=1)

    location.name = "Renamed"
    assert services.location_update(location=location, seen_version=1) == ["name"]


def test_a_connector_saved_or_deleted_from_an_older_version_is_refused(site):
    first, second = (fresh(c) for c in Connector.objects.filter(evse__location=site))
    evse = site.evses.get()
    with acting_as("command retune"):
        other = fresh(first)
        other.max_amperage = 32
        services.connector_update(connector=other)
    before = Untouched(site)

    first.max_voltage = 400
    with pytest.raises(StaleEdit) as refused_update:
        services.connector_update(connector=first, seen_version=1)
    with pytest.raises(StaleEdit) as refused_delete:
        services.connector_delete(connector=fresh(first), seen_version=1)

    expected = (
        rf"Connector 1 of EVSE {re.escape(evse.evse_id)} was changed by command retune at "
        rf"{WHEN}: max_amperage 16 → 32\. Reload the page; nothing was saved\."
    )
    assert re.fullmatch(expected, refusal(refused_update)), refusal(refused_update)
    assert re.fullmatch(expected, refusal(refused_delete)), refusal(refused_delete)
    before.check()
    # The other connector, unchanged since, is deleted from its version as usual.
    services.connector_delete(connector=second, seen_version=1)
    assert list(evse.connectors.values_list("id", flat=True)) == ["1"]


def test_a_bulk_status_change_makes_forms_of_those_evses_stale(site):
    evse = fresh(site.evses.get())
    with acting_as("command nightly_check"):
        services.evses_set_status(evses=[fresh(evse)], status=Status.INOPERATIVE)

    evse.physical_reference = "B2"
    with pytest.raises(StaleEdit) as refused:
        services.evse_update(evse=evse, seen_version=1)

    assert "by command nightly_check" in refusal(refused)
    assert "status AVAILABLE → INOPERATIVE" in refusal(refused)
    assert fresh(evse).physical_reference != "B2"


def test_without_history_the_refusal_still_names_the_object_and_its_last_change(site):
    """Objects changed before the audit trail existed have no record of what the form saw."""
    evse = fresh(site.evses.get())
    other = fresh(evse)
    other.status = Status.CHARGING
    services.evse_update(evse=other)
    EVSE.history.all().delete()

    with pytest.raises(StaleEdit) as refused:
        services.evse_update(evse=evse, seen_version=1)

    stamp = fresh(evse).last_updated.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert refusal(refused) == (
        f"EVSE {evse.evse_id} (uid {evse.uid}) was changed by someone else at {stamp}. "
        "Reload the page; nothing was saved."
    )
