"""The outbox: a change set (a bulk change of many rows) is recorded with one statement and
reaches the partner like the same changes saved one by one."""

import pytest

from locations import services
from locations.enums import Status
from locations.models import EVSE, Location
from pushers.models import ChangeRecord

from .conftest import build_site, ours, theirs

pytestmark = pytest.mark.usefixtures("eager")

BASE = "/ocpi/emsp/2.2.1/locations"


def test_a_bulk_status_change_reaches_the_partner_as_one_patch_per_evse(
    push_partner, receiver, saved
):
    sites = [saved(lambda: build_site(n_evses=2)) for _ in range(2)]
    receiver.requests.clear()

    saved(
        lambda: services.evses_set_status(
            evses=EVSE.objects.filter(location__in=sites), status=Status.INOPERATIVE
        )
    )

    assert sorted(
        (r.method, r.path.removeprefix(BASE), r.body) for r in receiver.pushes()
    ) == sorted(
        (
            "PATCH",
            f"/NL/EXA/{site.id}/{evse.uid}",
            {"status": "INOPERATIVE", "last_updated": ours(site)["last_updated"]},
        )
        for site in sites
        for evse in EVSE.objects.filter(location=site)
    )
    assert all(theirs(receiver, site) == ours(site) for site in sites)


def test_a_bulk_unpublish_reaches_the_partner_as_one_patch_per_location(
    push_partner, receiver, saved
):
    sites = [saved(lambda: build_site()) for _ in range(3)]
    receiver.requests.clear()

    saved(lambda: services.locations_set_publish(locations=sites, publish=False))

    assert sorted((r.method, r.path.removeprefix(BASE), r.body) for r in receiver.pushes()) == [
        (
            "PATCH",
            f"/NL/EXA/{site.id}",
            {"publish": False, "last_updated": ours(site)["last_updated"]},
        )
        for site in sorted(sites, key=lambda s: s.id)
    ]
    assert all(theirs(receiver, site) == ours(site) for site in sites)


def test_the_records_of_a_change_set_are_queued_for_fan_out_after_the_commit(
    db, django_capture_on_commit_callbacks, monkeypatch
):
    queued: list[list[int]] = []
    monkeypatch.setattr("pushers.outbox.enqueue_fan_out", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        sites = [build_site() for _ in range(3)]
    queued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.locations_set_publish(
            locations=Location.objects.filter(pk__in=[s.pk for s in sites]), publish=False
        )

    patches = list(ChangeRecord.objects.filter(method="PATCH").values_list("id", flat=True))
    assert (len(patches), queued) == (3, [sorted(patches)])
