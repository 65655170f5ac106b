"""A slot holder sends its partner's due lanes many per round (`pushers.drain`): the round's
statements do not grow with its lanes (only the partner read before each call does), and
whole-Location PUTs are built from rows in a constant number of queries, as the Sender's
list builds them (`messages.build_many`)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from pushers import lanes, operations
from pushers.messages import Message, build_many, build_messages
from pushers.models import Delivery, DeliveryAttempt, Lane, PartnerPushState
from versions.envelope import dumps

from .conftest import build_site, ours, theirs

pytestmark = pytest.mark.usefixtures("eager")


def _full_sync_queued(partner, n: int, settings) -> list:
    """n sites (not pushed: their change records are not fanned out) and a full sync of
    them queued in one batch, nothing sent yet."""
    settings.PUSH_FULL_SYNC_BATCH = 100
    sites = [build_site(n_evses=2) for _ in range(n)]
    operations.full_sync_start(partner_id=partner.pk)  # its wake-up tasks: not run
    return sites


@pytest.mark.parametrize("n", [3, 6])
def test_a_round_of_many_lanes_costs_the_same_statements_whatever_their_number(
    push_partner, receiver, settings, n, django_assert_num_queries
):
    sites = _full_sync_queued(push_partner, n, settings)
    # A last success the round need not write again (under a second old, whatever the
    # host's load: `rounds.LAST_SUCCESS_RESOLUTION`).
    PartnerPushState.objects.update(last_success_at=timezone.now() + timedelta(minutes=5))

    # The slot taken (1); the round: the lanes claimed (1), read with their Deliveries (1),
    # the partner (1), the Deliveries marked sending (1), the bodies from rows (Locations,
    # EVSEs, Connectors, which the partner may see: 4), the outcomes (savepoint, attempts,
    # successes, release savepoint: 4), the leases released (1); the slot renewed (1), the
    # next round finding nothing (1), the slot released (1), the look after it (1): 18,
    # plus the partner read again before each call after the first (n - 1).
    with django_assert_num_queries(18 + n - 1):
        assert lanes.send_partner(push_partner.pk).sent == n

    for site in sites:
        assert theirs(receiver, site) == ours(site)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    assert DeliveryAttempt.objects.count() == n
    assert not Lane.objects.filter(busy_until__isnull=False).exists()


@pytest.mark.parametrize("n", [2, 5])
def test_whole_location_puts_are_built_from_rows_in_four_queries_as_one_by_one(
    push_partner, settings, n, django_assert_num_queries
):
    _full_sync_queued(push_partner, n, settings)
    by_location: dict[int, list[Delivery]] = {}
    for delivery in Delivery.objects.order_by("pk"):
        by_location.setdefault(delivery.location_id, []).append(delivery)

    with django_assert_num_queries(4):
        many = build_many(push_partner.pk, by_location)

    one_by_one = {}
    for location_id, items in by_location.items():
        one_by_one.update(build_messages(location_id, items))

    def as_json(message) -> dict:
        assert isinstance(message, Message)
        body = json.loads(dumps(message.body))
        return {"method": message.method, "segments": message.segments, "body": body}

    assert len(many) == n
    assert {pk: as_json(m) for pk, m in many.items()} == {
        pk: as_json(m) for pk, m in one_by_one.items()
    }


def test_a_round_leaves_a_lane_found_sending_to_the_one_lane_path_and_sends_the_others(
    push_partner, receiver, settings
):
    sites = _full_sync_queued(push_partner, 3, settings)
    stuck = Delivery.objects.get(location=sites[1])
    Delivery.objects.filter(pk=stuck.pk).update(status=Delivery.Status.SENDING)  # a lost worker's

    result = lanes.send_partner(push_partner.pk)

    assert result is not None
    stuck.refresh_from_db()
    # The one-lane path writes the lost call down as a transient failure: backoff, pending.
    assert (stuck.status, stuck.last_error.startswith("No answer recorded")) == ("pending", True)
    assert Lane.objects.get(pk=stuck.lane_id).retry_at is not None
    for site in (sites[0], sites[2]):
        assert theirs(receiver, site) == ours(site)
    assert theirs(receiver, sites[1]) is None


def test_a_paused_partner_gets_nothing_from_a_round(push_partner, receiver, settings):
    _full_sync_queued(push_partner, 3, settings)
    operations.partner_set_paused(push_partner.pk, paused=True)

    result = lanes.send_partner(push_partner.pk)

    assert result is not None and result.sent == 0
    assert receiver.pushes() == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {"pending"}
    assert not Lane.objects.filter(busy_until__isnull=False).exists()
