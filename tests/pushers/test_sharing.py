"""Roaming agreements in push: a Location goes only to the partners it is shared with; a
partner it is withdrawn from gets its retirement (every EVSE REMOVED) once, then nothing; a
partner it is shared with again gets the whole Location. Against real loopback receivers."""

import copy

import pytest

from locations import services, sharing
from locations.enums import Status
from locations.models import EVSE, Location
from pushers import operations, outcomes
from pushers.models import Delivery, Lane
from versions.datetimes import format_ocpi_datetime

from .conftest import add_push_partner, build_site, ours, theirs
from .receiver import Receiver

pytestmark = pytest.mark.usefixtures("eager")


@pytest.fixture
def other_receiver():
    with Receiver() as partner:
        yield partner


@pytest.fixture
def two_partners(db, receiver, other_receiver):
    """Partner A pushes to `receiver`, partner B to `other_receiver`."""
    a = add_push_partner(receiver, name="eMSP A", party_id="EMA")
    b = add_push_partner(other_receiver, name="eMSP B", party_id="EMB")
    return a, b


def _set_status(evse: EVSE, status: str) -> None:
    evse.status = status
    services.evse_update(evse=evse)


def _retired(location: Location) -> dict:
    """What a partner holds once the Location is retired there: our rendering, every EVSE
    REMOVED as of the withdrawal."""
    location.refresh_from_db()
    data = ours(location)
    stamp = format_ocpi_datetime(location.last_updated)
    for evse in data["evses"]:
        evse["status"] = "REMOVED"
        evse["last_updated"] = stamp
    return data


def _paths(receiver) -> list[tuple[str, str]]:
    return [
        (r.method, r.path.removeprefix("/ocpi/emsp/2.2.1/locations")) for r in receiver.pushes()
    ]


def test_a_location_shared_with_one_partner_is_pushed_to_that_partner_only(
    two_partners, receiver, other_receiver, saved
):
    a, b = two_partners

    def create_shared_with_a():
        site = build_site(n_evses=2)
        sharing.location_set_sharing(location=site, all_partners=False, partners=[a])
        return site

    site = saved(create_shared_with_a)
    evse = EVSE.objects.filter(location=site).first()
    saved(lambda: _set_status(evse, Status.CHARGING))

    assert theirs(receiver, site) == ours(site)
    assert other_receiver.pushes() == []


def test_withdrawing_a_location_retires_it_once_at_the_partner_then_nothing_more_goes(
    two_partners, receiver, other_receiver, saved
):
    a, b = two_partners
    site = saved(lambda: build_site(n_evses=2))
    assert theirs(other_receiver, site) == ours(site)
    other_receiver.requests.clear()

    saved(lambda: sharing.locations_withdraw_from(locations=[site], partners=[b]))

    assert _paths(other_receiver) == [("PUT", f"/NL/EXA/{site.id}")]
    assert theirs(other_receiver, site) == _retired(site)
    assert Lane.objects.get(partner=b, location=site).partner_holds is False

    # Then it stops: later changes reach A only.
    other_receiver.requests.clear()
    evse = EVSE.objects.filter(location=site).first()
    saved(lambda: _set_status(evse, Status.CHARGING))
    saved(lambda: services.location_update(location=_renamed(site, "Renamed")))
    saved(lambda: sharing.locations_withdraw_from(locations=[site], partners=[b]))

    assert other_receiver.pushes() == []
    assert theirs(receiver, site) == ours(site)
    assert theirs(receiver, site)["evses"][0]["status"] == "CHARGING"


def _renamed(site: Location, name: str) -> Location:
    location = Location.objects.get(pk=site.pk)
    location.name = name
    return location


def test_withdrawing_from_a_partner_that_never_got_the_location_sends_it_nothing(
    two_partners, receiver, other_receiver, saved
):
    a, b = two_partners

    def create_for_a():
        site = build_site()
        sharing.location_set_sharing(location=site, all_partners=False, partners=[a])
        return site

    site = saved(create_for_a)
    saved(lambda: sharing.location_set_sharing(location=site, all_partners=False, partners=[]))

    assert other_receiver.pushes() == []
    assert _paths(receiver) == [("PUT", f"/NL/EXA/{site.id}")] * 2
    assert theirs(receiver, site) == _retired(site)


def test_sharing_again_sends_the_whole_location_with_what_changed_meanwhile(
    two_partners, other_receiver, saved
):
    a, b = two_partners
    site = saved(lambda: build_site(n_evses=2))
    saved(lambda: sharing.locations_withdraw_from(locations=[site], partners=[b]))
    evse = EVSE.objects.filter(location=site).first()
    saved(lambda: _set_status(evse, Status.CHARGING))
    other_receiver.requests.clear()

    saved(lambda: sharing.locations_share_with(locations=[site], partners=[b]))

    assert _paths(other_receiver) == [("PUT", f"/NL/EXA/{site.id}")]
    assert theirs(other_receiver, site) == ours(site)
    assert [e["status"] for e in theirs(other_receiver, site)["evses"]] == [
        "CHARGING",
        "AVAILABLE",
    ]
    assert Lane.objects.get(partner=b, location=site).partner_holds is True


def test_a_change_waiting_for_the_partner_when_the_location_is_withdrawn_never_goes(
    two_partners, other_receiver, saved
):
    a, b = two_partners
    site = saved(lambda: build_site(n_evses=1))
    operations.partner_set_paused(b.pk, paused=True)
    evse = EVSE.objects.filter(location=site).first()
    saved(lambda: _set_status(evse, Status.CHARGING))
    waiting = Delivery.objects.get(partner=b, evse=evse)
    other_receiver.requests.clear()

    saved(lambda: sharing.locations_withdraw_from(locations=[site], partners=[b]))
    saved(lambda: operations.partner_set_paused(b.pk, paused=False))

    waiting.refresh_from_db()
    assert (waiting.status, waiting.last_error) == (
        "superseded",
        "Not shared with this partner any more (roaming agreements).",
    )
    assert _paths(other_receiver) == [("PUT", f"/NL/EXA/{site.id}")]
    assert theirs(other_receiver, site) == _retired(site)


def test_a_delivery_fanned_out_before_the_withdrawal_is_not_sent_after_it(
    two_partners, other_receiver, saved, django_capture_on_commit_callbacks
):
    """The send loop checks the agreement at send time: a change fanned out just before
    the withdrawal (its fan-out not run yet) does not reach the partner."""
    a, b = two_partners
    site = saved(lambda: build_site(n_evses=1))
    operations.partner_set_paused(b.pk, paused=True)
    evse = EVSE.objects.filter(location=site).first()
    saved(lambda: _set_status(evse, Status.CHARGING))
    other_receiver.requests.clear()
    # The withdrawal commits, its fan-out has not run (callbacks captured, not executed).
    with django_capture_on_commit_callbacks(execute=False):
        sharing.locations_withdraw_from(locations=[site], partners=[b])
    waiting = Delivery.objects.get(partner=b, evse=evse)

    saved(lambda: operations.partner_set_paused(b.pk, paused=False))

    waiting.refresh_from_db()
    assert (waiting.status, waiting.last_error) == (
        "superseded",
        "Not shared with this partner any more (roaming agreements).",
    )
    assert other_receiver.pushes() == []


def test_a_refused_patch_is_healed_with_a_put_only_where_the_location_is_still_shared(
    two_partners, saved
):
    a, b = two_partners
    site = saved(lambda: build_site(n_evses=1))
    for partner in (a, b):
        operations.partner_set_paused(partner.pk, paused=True)
    evse = EVSE.objects.filter(location=site).first()
    saved(lambda: _set_status(evse, Status.CHARGING))
    patches = {p: Delivery.objects.get(partner=p, evse=evse) for p in (a, b)}
    saved(lambda: sharing.locations_withdraw_from(locations=[site], partners=[b]))
    Delivery.objects.filter(status="pending").update(status="discarded")

    for partner in (a, b):
        lane = Lane.objects.get(partner=partner, location=site)
        outcomes.heal(lane, patches[partner], "PATCH")

    healed = Delivery.objects.filter(status="pending")
    assert [(d.partner_id, d.method, d.object_key) for d in healed] == [
        (a.pk, "PUT", f"L:{site.pk}")
    ]


def test_a_full_sync_puts_what_the_partner_may_see_and_retires_what_it_may_no_longer(
    two_partners, receiver, other_receiver, saved
):
    a, b = two_partners
    kept = saved(lambda: build_site(id="SITE-KEPT"))
    withdrawn = saved(lambda: build_site(id="SITE-WITHDRAWN"))

    def create_for_a():
        site = build_site(id="SITE-NEVER")
        sharing.location_set_sharing(location=site, all_partners=False, partners=[a])
        return site

    never = saved(create_for_a)
    # The retirement of `withdrawn` is lost in an outage (expired); `never` was never B's.
    operations.partner_set_paused(b.pk, paused=True)
    saved(lambda: sharing.locations_withdraw_from(locations=[withdrawn], partners=[b]))
    Delivery.objects.filter(partner=b, status="pending").update(status="expired")
    operations.partner_set_paused(b.pk, paused=False)
    other_receiver.requests.clear()
    other_receiver.locations.clear()

    sync = saved(lambda: operations.full_sync_start(partner_id=b.pk, requested_by="test"))

    assert sorted(_paths(other_receiver)) == [
        ("PUT", f"/NL/EXA/{kept.id}"),
        ("PUT", f"/NL/EXA/{withdrawn.id}"),
    ]
    assert theirs(other_receiver, kept) == ours(kept)
    assert theirs(other_receiver, withdrawn) == _retired(withdrawn)
    assert theirs(other_receiver, never) is None
    assert operations.full_sync_progress(sync) == (2, 2)


def test_a_retirement_overtaken_by_sharing_again_becomes_the_put_of_the_location(
    two_partners, other_receiver, saved
):
    a, b = two_partners
    site = saved(lambda: build_site(n_evses=1))
    operations.partner_set_paused(b.pk, paused=True)
    saved(lambda: sharing.locations_withdraw_from(locations=[site], partners=[b]))
    saved(lambda: sharing.locations_share_with_all(locations=[site]))
    other_receiver.requests.clear()

    saved(lambda: operations.partner_set_paused(b.pk, paused=False))

    assert _paths(other_receiver) == [("PUT", f"/NL/EXA/{site.id}")]
    assert theirs(other_receiver, site) == ours(site)
    # The creation's PUT, then the retirement with the sharing merged in: a plain PUT.
    deliveries = Delivery.objects.filter(partner=b).order_by("id")
    assert [(d.method, d.retire, d.changes, d.status) for d in deliveries] == [
        ("PUT", False, 1, "succeeded"),
        ("PUT", False, 2, "succeeded"),
    ]


def test_retirement_keeps_the_location_as_the_partner_had_it_but_every_evse_removed(
    two_partners, other_receiver, saved
):
    a, b = two_partners
    site = saved(lambda: build_site(n_evses=2, connectors=1))
    before = copy.deepcopy(theirs(other_receiver, site))

    saved(lambda: sharing.locations_withdraw_from(locations=[site], partners=[b]))

    after = theirs(other_receiver, site)
    assert {k: v for k, v in after.items() if k not in ("evses", "last_updated")} == {
        k: v for k, v in before.items() if k not in ("evses", "last_updated")
    }
    assert [(e["uid"], e["status"]) for e in after["evses"]] == [
        (e["uid"], "REMOVED") for e in before["evses"]
    ]
    assert [e["connectors"] for e in after["evses"]] == [e["connectors"] for e in before["evses"]]
