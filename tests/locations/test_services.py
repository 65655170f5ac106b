from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from locations import services
from locations.enums import Status
from locations.models import EVSE, Connector, Location
from pushers.models import ChangeRecord
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory


def _age(location: Location) -> None:
    """Move every timestamp of the site one hour back, so that bumps are visible."""
    hour = timedelta(hours=1)
    Location.objects.filter(pk=location.pk).update(last_updated=location.last_updated - hour)
    for evse in EVSE.objects.filter(location=location):
        EVSE.objects.filter(pk=evse.pk).update(last_updated=evse.last_updated - hour)
        Connector.objects.filter(evse=evse).update(last_updated=evse.last_updated - hour)


def test_creating_a_site_sets_one_timestamp_and_records_one_location_put(site):
    evse = site.evses.get()
    assert {c.last_updated for c in evse.connectors.all()} == {site.last_updated}
    assert evse.last_updated == site.last_updated
    assert list(ChangeRecord.objects.values_list("level", "method")) == [("location", "PUT")]


def test_connector_change_bumps_evse_and_location_last_updated(site):
    _age(site)
    connector = Connector.objects.get(evse__location=site, id="1")
    old = connector.last_updated

    connector.max_amperage = 32
    changed = services.connector_update(connector=connector)

    assert changed == ["max_amperage"]
    connector.refresh_from_db()
    evse = EVSE.objects.get(location=site)
    location = Location.objects.get(pk=site.pk)
    assert connector.last_updated > old
    assert evse.last_updated == connector.last_updated
    assert location.last_updated == connector.last_updated
    other = Connector.objects.get(evse__location=site, id="2")
    assert other.last_updated < connector.last_updated
    record = ChangeRecord.objects.last()
    assert (record.level, record.method, record.fields) == ("connector", "PATCH", ["max_amperage"])


def test_evse_change_bumps_location_but_not_connectors(site):
    _age(site)
    evse = EVSE.objects.get(location=site)

    evse.status = Status.CHARGING
    assert services.evse_update(evse=evse) == ["status"]

    location = Location.objects.get(pk=site.pk)
    assert location.last_updated == evse.last_updated
    assert all(c.last_updated < evse.last_updated for c in evse.connectors.all())


def test_saving_unchanged_objects_bumps_nothing_and_records_nothing(site):
    _age(site)
    before = Location.objects.get(pk=site.pk).last_updated
    records = ChangeRecord.objects.count()

    assert services.location_update(location=Location.objects.get(pk=site.pk)) == []
    assert services.evse_update(evse=EVSE.objects.get(location=site)) == []
    assert (
        services.connector_update(connector=Connector.objects.filter(evse__location=site).first())
        == []
    )

    assert Location.objects.get(pk=site.pk).last_updated == before
    assert ChangeRecord.objects.count() == records


def test_removing_an_evse_sets_status_removed_and_keeps_it(site):
    evse = EVSE.objects.get(location=site)

    assert services.evse_remove(evse=evse) is True

    evse.refresh_from_db()
    assert evse.status == Status.REMOVED
    evse.status = Status.AVAILABLE
    with pytest.raises(ValidationError, match="stays removed"):
        services.evse_update(evse=evse)


def test_removing_the_last_connector_is_refused(site):
    first, second = Connector.objects.filter(evse__location=site)
    services.connector_delete(connector=first)

    with pytest.raises(ValidationError, match="at least one connector"):
        services.connector_delete(connector=second)
    assert Connector.objects.filter(pk=second.pk).exists()
    record = ChangeRecord.objects.last()
    assert (record.level, record.method) == ("evse", "PUT")


def test_evse_without_connectors_is_refused(site):
    with pytest.raises(ValidationError, match="at least one connector"):
        services.evse_create(evse=EVSEFactory.build(location=site), connectors=[])
    assert EVSE.objects.filter(location=site).count() == 1


def test_location_id_is_unique_per_party_case_insensitively(site):
    with pytest.raises(ValidationError, match="exists already"):
        services.location_create(location=LocationFactory.build(id=site.id.lower()))


def test_evse_uid_is_unique_platform_wide_case_insensitively(site):
    uid = site.evses.get().uid
    other = services.location_create(location=LocationFactory.build())
    with pytest.raises(ValidationError, match="exists already"):
        services.evse_create(
            evse=EVSEFactory.build(location=other, uid=uid.lower()),
            connectors=[ConnectorFactory.build()],
        )


def test_ids_never_change(site):
    location = Location.objects.get(pk=site.pk)
    location.id = "OTHER"
    with pytest.raises(ValidationError, match="never changes"):
        services.location_update(location=location)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("country", "NL", "alpha-3"),
        ("country", "XXX", "alpha-3"),
        ("country_code", "XX", "alpha-2"),
        ("time_zone", "Mars/Olympus", "IANA"),
        ("coordinates", {"latitude": "52.08", "longitude": "5.110278"}, "coordinates.latitude"),
        ("coordinates", {"latitude": 52.089444, "longitude": "5.110278"}, "must be a text"),
        (
            "coordinates",
            {"latitude": "95.00000", "longitude": "5.110278"},
            "coordinates.latitude: 95.00000 is outside −90…90",
        ),
        (
            "coordinates",
            {"latitude": "52.089444", "longitude": "200.00000"},
            "coordinates.longitude: 200.00000 is outside −180…180",
        ),
        (
            "related_locations",
            [{"latitude": "-91.00000", "longitude": "5.110278"}],
            r"related_locations\[0\].latitude: -91.00000 is outside −90…90",
        ),
        ("opening_times", {"twentyfourseven": False}, "regular_hours: needs at least one"),
        (
            "opening_times",
            {
                "twentyfourseven": False,
                "regular_hours": [{"weekday": 1, "period_begin": "18:00", "period_end": "08:00"}],
            },
            "period_end: must be later",
        ),
        ("publish_allowed_to", [{"uid": "ABC"}], "type: is required when uid"),
        ("facilities", ["HOTEL", "SPA"], "'SPA' is not one of"),
        ("name", "line\nbreak", "control characters"),
    ],
)
def test_invalid_location_values_are_refused_with_a_readable_message(db, field, value, message):
    location = LocationFactory.build(**{field: value})
    with pytest.raises(ValidationError, match=message):
        services.location_create(location=location)
    assert not Location.objects.exists()


def test_publish_allowed_to_only_with_publish_off(db):
    tokens = [{"uid": "012345678", "type": "RFID"}]
    with pytest.raises(ValidationError, match="only allowed when publish is off"):
        services.location_create(location=LocationFactory.build(publish_allowed_to=tokens))
    services.location_create(
        location=LocationFactory.build(publish=False, publish_allowed_to=tokens)
    )


@pytest.mark.parametrize("evse_id", ["NL*EXA*E12345*1", "NLEXAE12345", "+49*810*000*438"])
def test_valid_evse_ids_are_accepted(site, evse_id):
    services.evse_create(
        evse=EVSEFactory.build(location=site, evse_id=evse_id),
        connectors=[ConnectorFactory.build()],
    )


@pytest.mark.parametrize(
    ("coordinates", "message"),
    [
        ({"latitude": "-95.00000", "longitude": "5.11030"}, "latitude: -95.00000 is outside"),
        ({"latitude": "52.08940", "longitude": "-180.10000"}, "longitude: -180.10000 is outside"),
    ],
)
def test_evse_coordinates_off_the_earth_are_refused_on_create_and_update(
    site, coordinates, message
):
    records = ChangeRecord.objects.count()
    with pytest.raises(ValidationError, match=f"coordinates.{message}"):
        services.evse_create(
            evse=EVSEFactory.build(location=site, coordinates=coordinates),
            connectors=[ConnectorFactory.build()],
        )
    evse = EVSE.objects.get(location=site)
    evse.coordinates = coordinates
    with pytest.raises(ValidationError, match=f"coordinates.{message}"):
        services.evse_update(evse=evse)
    assert EVSE.objects.get(pk=evse.pk).coordinates != coordinates
    assert EVSE.objects.filter(location=site).count() == 1
    assert ChangeRecord.objects.count() == records


@pytest.mark.parametrize("evse_id", ["12345", "NL-EXA-12345", "NL*EXA*X12345"])
def test_invalid_evse_ids_are_refused(site, evse_id):
    with pytest.raises(ValidationError, match="EVSE ID"):
        services.evse_create(
            evse=EVSEFactory.build(location=site, evse_id=evse_id),
            connectors=[ConnectorFactory.build()],
        )
