"""`manage.py ocpi_demo_data` and the bulk import service it writes through."""

import re
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction

from locations.bulk import locations_bulk_create
from locations.enums import PowerType, Status
from locations.management.demo_data import DemoSiteFactory
from locations.models import EVSE, Connector, Location
from locations.validators import EVSE_ID_RE
from pushers.models import ChangeRecord
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cpo_identity(settings):
    settings.OCPI_COUNTRY_CODE = "DE"
    settings.OCPI_PARTY_ID = "ABC"
    # DE*ABC first (the demo command's party), and NL*EXA, the party of tests.factories:
    # a Location must belong to one of our parties.
    settings.OCPI_PARTIES = (
        '[{"country_code": "DE", "party_id": "ABC", "name": "Example CPO"},'
        ' {"country_code": "NL", "party_id": "EXA", "name": "Factory CPO"}]'
    )


def _demo(*args: str) -> str:
    out = StringIO()
    call_command("ocpi_demo_data", *args, stdout=out)
    return out.getvalue()


def _counts() -> tuple[int, int, int, int]:
    return (
        Location.objects.count(),
        EVSE.objects.count(),
        Connector.objects.count(),
        ChangeRecord.objects.count(),
    )


def _snapshot() -> list:
    """Every stored OCPI value, without internal keys and timestamps."""
    skip = {"row_id", "last_updated", "location", "evse"}

    def values(obj):
        return {f.name: getattr(obj, f.attname) for f in obj._meta.fields if f.name not in skip}

    return [
        (
            values(location),
            [
                (values(evse), [values(c) for c in evse.connectors.order_by("row_id")])
                for evse in location.evses.order_by("row_id")
            ],
        )
        for location in Location.objects.order_by("row_id")
    ]


def test_command_creates_the_requested_counts_with_one_location_put_each():
    output = _demo("--locations", "7", "--evses-per-location", "3", "--connectors-per-evse", "2")

    assert _counts() == (7, 21, 42, 7)
    assert "Created 7 Locations, 21 EVSEs and 42 Connectors" in output
    assert [
        (r.level, r.method, r.evse_id, r.connector_id, r.fields) for r in ChangeRecord.objects.all()
    ] == [("location", "PUT", None, None, [])] * 7
    assert set(ChangeRecord.objects.values_list("location", flat=True)) == set(
        Location.objects.values_list("pk", flat=True)
    )
    # One timestamp per batch, shared by the Location, its EVSEs and Connectors.
    location = Location.objects.first()
    assert {e.last_updated for e in location.evses.all()} == {location.last_updated}


def test_every_object_is_spec_valid_and_realistic():
    _demo("--locations", "60", "--batch-size", "25")

    for location in Location.objects.all():
        location.full_clean()  # with the unique checks and constraints, this time
        assert (location.country_code, location.party_id) == ("DE", "ABC")
        for name in ("latitude", "longitude"):
            assert re.fullmatch(r"-?\d{1,3}\.\d{5,7}", location.coordinates[name])
    for evse in EVSE.objects.all():
        evse.full_clean()
        assert EVSE_ID_RE.match(evse.evse_id) and evse.evse_id.startswith("DE*ABC*E")
    for connector in Connector.objects.all():
        connector.full_clean()
        if connector.power_type == PowerType.DC:
            assert 400 <= connector.max_voltage <= 920 or connector.standard == "CHADEMO"
            assert 125 <= connector.max_amperage <= 500
            assert connector.max_electric_power
            assert connector.format == "CABLE"
            assert connector.standard in {"IEC_62196_T2_COMBO", "CHADEMO"}
        else:
            assert connector.power_type in {PowerType.AC_1_PHASE, PowerType.AC_3_PHASE}
            assert connector.max_voltage == 230
            assert connector.max_amperage in {16, 32, 63}
        if connector.max_electric_power:
            phases = 3 if connector.power_type == PowerType.AC_3_PHASE else 1
            assert (
                connector.max_electric_power
                <= connector.max_voltage * connector.max_amperage * phases
            )

    # Varied, not one template repeated.
    assert EVSE.objects.values("status").distinct().count() >= 4
    assert Connector.objects.values("power_type").distinct().count() == 3
    assert Location.objects.values("country").distinct().count() >= 3
    assert Location.objects.values("parking_type").distinct().count() >= 3
    opening = [loc.opening_times for loc in Location.objects.all()]
    assert {"twentyfourseven": True} in opening
    assert any(o and not o["twentyfourseven"] for o in opening)
    assert Location.objects.exclude(operator=None).exists()
    assert Location.objects.exclude(energy_mix=None).exists()
    assert Location.objects.exclude(images=[]).exists()
    assert Location.objects.exclude(directions=[]).exists()
    assert Location.objects.exclude(facilities=[]).exists()


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data():
    with transaction.atomic():
        _demo("--locations", "12", "--seed", "42", "--batch-size", "5")
        first = _snapshot()
        transaction.set_rollback(True)
    assert _counts() == (0, 0, 0, 0)

    _demo("--locations", "12", "--seed", "42")  # another batch size, same data
    assert _snapshot() == first

    other = DemoSiteFactory(seed=43, country_code="DE", party_id="ABC", operator_name="X")
    assert other.site(0)[0].id != first[0][0]["id"]


def test_a_rerun_with_the_same_seed_is_refused_before_anything_is_written():
    _demo("--locations", "3", "--seed", "5")
    before = _counts()

    with pytest.raises(CommandError, match="seed 5 exists already.*nothing was created"):
        _demo("--locations", "6", "--seed", "5")

    assert _counts() == before
    _demo("--locations", "2", "--seed", "6")  # another seed adds sites
    assert _counts()[0] == 5


def _sites(factory: DemoSiteFactory, numbers) -> list:
    return [factory.site(n) for n in numbers]


def test_bulk_create_turns_a_clash_with_stored_ids_into_a_clear_error_and_saves_nothing():
    factory = DemoSiteFactory(seed=9, country_code="DE", party_id="ABC", operator_name="X")
    locations_bulk_create(sites=_sites(factory, [0, 1]))
    before = _counts()

    again = DemoSiteFactory(seed=9, country_code="de", party_id="abc", operator_name="X")
    sites = _sites(again, [0, 1, 2])
    sites[1][0].id = sites[1][0].id.lower()  # ids are case-insensitive
    # sites 0 and 1 clash (by Location id), site 2 is new: nothing of the batch is saved.
    with pytest.raises(ValidationError) as excinfo:
        locations_bulk_create(sites=sites)

    message = " ".join(excinfo.value.messages)
    assert "Nothing was imported" in message
    assert (
        "A Location with this id exists already (ids are unique on the whole platform, "
        "case-insensitive)." in message
    )
    assert "DEMO-9-000000" in message
    assert _counts() == before
    assert all(location.pk is None for location, _ in sites)


def test_bulk_create_rejects_an_invalid_object_and_saves_nothing():
    factory = DemoSiteFactory(seed=1, country_code="DE", party_id="ABC", operator_name="X")
    sites = _sites(factory, range(3))
    sites[2][1][1][1][0].max_voltage = -5  # the first connector of the second EVSE of site 2

    with pytest.raises(ValidationError, match=r"DEMO-1-000002.*max_voltage"):
        locations_bulk_create(sites=sites)
    assert _counts() == (0, 0, 0, 0)

    sites = _sites(
        DemoSiteFactory(seed=1, country_code="DE", party_id="ABC", operator_name="X"), [0]
    )
    sites[0][0].coordinates = {"latitude": 52.1, "longitude": 5.1}  # numbers, not strings
    with pytest.raises(ValidationError, match="coordinates.latitude: must be a text"):
        locations_bulk_create(sites=sites)
    assert _counts() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda loc, evses: setattr(loc, "publish_allowed_to", [{"group_id": "G1"}]),
         "only allowed when publish is off"),
        (lambda loc, evses: evses[0][1].clear(), "needs at least one connector"),
        (lambda loc, evses: setattr(evses[1][0], "uid", evses[0][0].uid.lower()), "occurs twice"),
        (lambda loc, evses: setattr(evses[1][0], "evse_id", evses[0][0].evse_id), "occurs twice"),
        (lambda loc, evses: setattr(evses[0][1][1], "id", "1"), "Two connectors"),
    ],
)  # fmt: skip
def test_bulk_create_applies_the_rules_between_objects(change, message):
    location = LocationFactory.build(publish=True)
    evses = [
        (EVSEFactory.build(), [ConnectorFactory.build(id="1"), ConnectorFactory.build(id="2")]),
        (EVSEFactory.build(), [ConnectorFactory.build(id="1")]),
    ]
    change(location, evses)

    with pytest.raises(ValidationError, match=message):
        locations_bulk_create(sites=[(location, evses)])
    assert _counts() == (0, 0, 0, 0)


def test_bulk_create_of_valid_factory_objects_matches_location_create():
    location = LocationFactory.build(country_code="nl", party_id="exa")
    evse = EVSEFactory.build(status=Status.AVAILABLE)
    assert locations_bulk_create(sites=[(location, [(evse, [ConnectorFactory.build()])])]) == 1

    stored = Location.objects.get()
    assert (stored.country_code, stored.party_id) == ("NL", "EXA")  # normalised like the others
    record = ChangeRecord.objects.get()
    assert (record.level, record.method, record.location_id) == ("location", "PUT", stored.pk)
    assert record.last_updated == stored.last_updated
    assert locations_bulk_create(sites=[]) == 0


def test_bulk_create_wakes_the_push_workers_after_the_commit(
    monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr("pushers.outbox.enqueue_fan_out", queued.append)
    factory = DemoSiteFactory(seed=2, country_code="DE", party_id="ABC", operator_name="X")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        locations_bulk_create(sites=_sites(factory, range(3)))

    assert len(callbacks) == 1
    assert queued == [list(ChangeRecord.objects.values_list("pk", flat=True))]
