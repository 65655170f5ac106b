"""A partner's push health (pushers/health.py): one rule for the admin and the dashboard.

`decide` is checked for every state from its facts; `partners_push` from real pushes to the
real Receiver (in-process, eager tasks), including the cases of issue 15: a partner whose every
call fails is not "active", a pull-only partner is not pushed to, a 404 healed seconds later
does not stay as the last error.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from locations import services
from locations.enums import Status
from locations.models import EVSE
from partners.models import Partner
from partners.services import partner_create
from pushers.health import FAILING_AFTER, Health, Kind, PushFacts, decide, partners_push
from pushers.models import DeliveryAttempt, FullSync, PartnerPushState
from tests.pushers.receiver import Receiver

from .conftest import add_push_partner, build_site

T = datetime(2026, 12, 2, 14, 2, tzinfo=UTC)
REGISTERED = Partner.State.REGISTERED


def facts(**values) -> PushFacts:
    return PushFacts(**{"partner_state": REGISTERED, "has_receiver": True, **values})


def local(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


# --- decide: every state ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (Partner.State.PENDING, "pending"),
        (Partner.State.SUSPENDED, "suspended"),
        (Partner.State.UNREGISTERED, "unregistered"),
    ],
)
def test_a_partner_that_is_not_registered_is_not_pushed_to(state, words):
    assert decide(facts(partner_state=state, last_outcome="success")) == Health(
        Kind.NOT_PUSHED, f"not pushed to (partner {words})"
    )


def test_a_partner_without_a_locations_receiver_is_not_pushed_to_never_healthy():
    assert decide(facts(has_receiver=False)) == Health(
        Kind.NOT_PUSHED, "not pushed to (no Locations Receiver endpoint: pull only)"
    )


def test_a_paused_partner_is_paused_whatever_its_calls_did():
    failing = facts(paused=True, last_outcome="permanent", run_long=True, run_start=T)
    assert decide(failing) == Health(Kind.PAUSED, "paused")


def test_a_partner_whose_last_calls_all_failed_is_failing_since_the_first_of_them():
    assert decide(facts(last_outcome="permanent", run_long=True, run_start=T)) == Health(
        Kind.FAILING, f"failing since {local(T)}", T
    )


def test_a_failing_partner_under_the_circuit_breaker_says_it_gets_one_call_at_a_time(settings):
    settings.PUSH_BREAKER_FAILURES = 5
    earlier = T - timedelta(minutes=30)
    health = decide(
        facts(
            last_outcome="transient",
            run_long=True,
            run_start=T,
            breaker_failures=5,
            breaker_since=earlier,
        )
    )
    assert health == Health(
        Kind.FAILING,
        f"failing since {local(earlier)} (one call at a time until it answers)",
        earlier,
    )


def test_a_partner_whose_retry_window_ran_out_is_failing_with_its_full_sync_scheduled():
    later = T + timedelta(minutes=10)
    health = decide(
        facts(
            last_outcome="transient",
            run_long=True,
            run_start=T,
            needs_full_sync=True,
            full_sync_after=later,
        )
    )
    assert health == Health(
        Kind.FAILING,
        f"failing since {local(T)}; retry window ran out: full sync scheduled at {local(later)}",
        T,
    )


def test_fewer_failed_calls_in_a_row_than_failing_after_are_degraded():
    assert decide(facts(last_outcome="transient", run_long=False, run_start=T)) == Health(
        Kind.DEGRADED, "degraded: the last call failed", T
    )


def test_failed_calls_in_the_last_hour_before_a_success_are_degraded():
    assert decide(facts(last_outcome="success", calls_recent=4, failed_recent=1)) == Health(
        Kind.DEGRADED, "degraded: 1 of 4 calls failed in the last hour"
    )


def test_a_partner_whose_calls_succeed_is_healthy():
    assert decide(facts(last_outcome="success", calls_recent=4)) == Health(Kind.HEALTHY, "healthy")
    assert decide(facts()) == Health(Kind.HEALTHY, "healthy (nothing sent yet)")


# --- partners_push: from real pushes ---------------------------------------------------------


def _change_a_status(site, saved, status=Status.CHARGING):
    evse = EVSE.objects.filter(location=site).first()
    evse.status = status
    saved(lambda: services.evse_update(evse=evse))


def _push_of(partner):
    [push] = partners_push(Partner.objects.filter(pk=partner.pk))
    return push


@pytest.mark.usefixtures("eager")
def test_a_partner_that_refuses_every_call_is_failing_and_the_admin_says_the_same(
    push_partner, receiver, saved, admin_client
):
    receiver.answer_next(*[(404, 2003)] * FAILING_AFTER)
    for _ in range(FAILING_AFTER):
        saved(build_site)  # each a PUT of a whole Location: refused, parked
    first = DeliveryAttempt.objects.order_by("started_at").first()

    push = _push_of(push_partner)

    assert push.health == Health(
        Kind.FAILING, f"failing since {local(first.started_at)}", first.started_at
    )
    assert (push.waiting, push.parked, push.refused) == (0, FAILING_AFTER, FAILING_AFTER)
    assert [(r.reason, r.count) for r in push.refusals] == [
        ("HTTP 404 OCPI 2003: as told", FAILING_AFTER)
    ]
    assert push.last_error_text == "HTTP 404 OCPI 2003: as told"
    # One rule: the admin's list and the dashboard show this very text.
    page = admin_client.get(reverse("admin:pushers_partnerpushstate_changelist")).content
    assert f'<td class="field-health">{push.health.text}</td>' in page.decode()
    dashboard = admin_client.get(reverse("admin:index")).content.decode()
    assert f'<span class="health health-failing">{push.health.text}</span>' in dashboard


@pytest.mark.usefixtures("eager")
def test_a_404_healed_seconds_later_shows_its_time_and_since_healed_not_a_failure_rate(
    push_partner, receiver, saved
):
    site = saved(build_site)
    receiver.answer_next((404, 2003))  # the PATCH; the PUT of the Location that heals it goes
    _change_a_status(site, saved)
    refused = DeliveryAttempt.objects.get(outcome="permanent")

    push = _push_of(push_partner)

    assert push.health == Health(Kind.DEGRADED, "degraded: 1 of 3 calls failed in the last hour")
    assert push.last_error_text == (
        f"HTTP 404 OCPI 2003: as told (at {local(refused.started_at)}, since healed)"
    )


@pytest.mark.usefixtures("eager")
def test_a_healed_failure_leaves_the_partner_healthy_once_an_hour_has_passed(
    push_partner, receiver, saved
):
    site = saved(build_site)
    receiver.answer_next((404, 2003))
    _change_a_status(site, saved)
    an_hour_later = timezone.now() + timedelta(hours=1, minutes=1)

    [push] = partners_push(Partner.objects.filter(pk=push_partner.pk), now=an_hour_later)

    assert push.health == Health(Kind.HEALTHY, "healthy")


def test_a_registered_partner_that_pulls_is_not_pushed_to(db):
    partner, _ = partner_create(name="Puller", country_code="DE", party_id="PUL")

    push = _push_of(partner)

    assert push.health.text == "not pushed to (no Locations Receiver endpoint: pull only)"
    assert (push.waiting, push.parked, push.refused, push.last_sync) == (0, 0, 0, None)


def test_counts_link_to_the_filtered_deliveries(db):
    partner, _ = partner_create(name="Puller", country_code="DE", party_id="PUL")

    push = _push_of(partner)

    base = reverse("admin:pushers_delivery_changelist")
    assert (
        push.waiting_url == f"{base}?partner__id__exact={partner.pk}&status__in=pending%2Csending"
    )
    assert push.parked_url == f"{base}?partner__id__exact={partner.pk}&status__exact=failed"
    assert re.fullmatch(
        rf"{base}\?partner__id__exact={partner.pk}&status__exact=failed"
        r"&last_attempt_at__gte=\d{4}-\d\d-\d\dT[\d.]+%3A[\d.]+%3A[\d.]+%2B00%3A00",
        push.refused_url,
    )


@pytest.mark.usefixtures("eager")
def test_the_filtered_lists_the_counts_link_to_show_those_deliveries(
    push_partner, receiver, saved, admin_client
):
    receiver.answer_next((422, 2001))
    saved(build_site)
    push = _push_of(push_partner)

    for url in (push.parked_url, push.refused_url, push.refusals[0].url):
        listing = admin_client.get(url)
        assert listing.status_code == 200, url
        assert len(listing.context["cl"].result_list) == 1, url


def test_partners_push_costs_the_same_queries_for_one_partner_or_many(db):
    def measure() -> int:
        with CaptureQueriesContext(connection) as queries:
            pushes = partners_push(Partner.objects.all(), syncs=True)
        assert pushes
        return len(queries.captured_queries)

    with Receiver() as receiver:
        first = add_push_partner(receiver, name="First")
        FullSync.objects.create(partner=first, total=0)
        one = measure()
        for n in range(4):
            partner = add_push_partner(receiver, name=f"Other {n}", party_id=f"OT{n}")
            PartnerPushState.objects.create(partner=partner, last_success_at=timezone.now())
            FullSync.objects.create(partner=partner, total=1)
        build_site()
        many = measure()

    assert one == many
