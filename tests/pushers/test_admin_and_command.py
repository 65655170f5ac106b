"""The operator's levers: admin views and actions, and the full sync command."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from locations import services
from locations.enums import Status
from locations.models import EVSE
from pushers.models import Delivery, FullSync, PartnerPushState

from .conftest import add_push_partner, build_site, ours, theirs
from .receiver import Receiver

pytestmark = pytest.mark.usefixtures("eager")


@pytest.fixture
def sites(push_partner, receiver, saved):
    sites = [saved(build_site) for _ in range(2)]
    receiver.requests.clear()
    return sites


def _action(admin_client, model: str, action: str, ids: list[int]):
    return admin_client.post(
        reverse(f"admin:pushers_{model}_changelist"),
        {"action": action, "_selected_action": [str(i) for i in ids]},
        follow=True,
    )


def _cells(response, column: str) -> list[str]:
    """The text of one column of an admin list, row by row (tags removed)."""
    html = response.content.decode()
    return [
        " ".join(re.sub(r"<[^>]+>", "", cell).split())
        for cell in re.findall(rf'<td class="field-{column}[^"]*">(.*?)</td>', html, re.S)
    ]


def test_the_partner_list_shows_health_waiting_parked_last_success_and_the_last_error(
    sites, push_partner, receiver, admin_client, saved
):
    receiver.answer_next((500, 3000))
    evse = EVSE.objects.filter(location=sites[0]).first()
    evse.status = Status.CHARGING
    saved(lambda: services.evse_update(evse=evse))

    response = admin_client.get(reverse("admin:pushers_partnerpushstate_changelist"))

    assert response.status_code == 200
    state = PartnerPushState.objects.get(partner=push_partner)
    assert _cells(response, "health") == ["degraded: the last call failed"]
    oldest = timezone.localtime(Delivery.objects.get(status="pending").queued_at)
    assert _cells(response, "deliveries") == [
        f"1 waiting (oldest {oldest:%Y-%m-%d %H:%M})0 parked0 refused in 24 h"
    ]
    assert _cells(response, "last_success") == [
        f"{timezone.localtime(state.last_success_at):%Y-%m-%d %H:%M}"
    ]
    # The latest outcome: shown as it is.
    assert _cells(response, "last_error_shown") == ["HTTP 500 OCPI 3000: as told"]


def test_pausing_and_resuming_a_partner_from_the_admin(
    sites, push_partner, receiver, admin_client, saved
):
    state = PartnerPushState.objects.get(partner=push_partner)
    _action(admin_client, "partnerpushstate", "pause", [state.pk])
    evse = EVSE.objects.filter(location=sites[0]).first()
    evse.status = Status.CHARGING
    saved(lambda: services.evse_update(evse=evse))
    assert receiver.pushes() == []

    with_callbacks = saved(lambda: _action(admin_client, "partnerpushstate", "resume", [state.pk]))

    assert with_callbacks.status_code == 200
    assert [r.method for r in receiver.pushes()] == ["PATCH"]
    assert not PartnerPushState.objects.get(pk=state.pk).push_paused


def test_a_full_sync_from_the_admin_puts_every_location_and_shows_its_progress(
    sites, push_partner, receiver, admin_client, saved
):
    state = PartnerPushState.objects.get(partner=push_partner)
    receiver.locations.clear()

    saved(lambda: _action(admin_client, "partnerpushstate", "full_sync", [state.pk]))

    for site in sites:
        assert theirs(receiver, site) == ours(site)
    sync = FullSync.objects.get()
    assert sync.requested_by == "admin"
    response = admin_client.get(reverse("admin:pushers_fullsync_changelist"))
    assert _cells(response, "progress") == ["2/2 settled: 2 accepted, 0 refused"]


def test_the_deliveries_list_filters_by_partner_object_and_state_and_retries_or_discards(
    sites, push_partner, receiver, admin_client, saved
):
    # Each PATCH is refused, and so is the PUT of its Location that follows it.
    receiver.answer_next(*[(400, 2001)] * 4)
    first, second = (EVSE.objects.filter(location=site).first() for site in sites)
    for evse in (first, second):
        evse.status = Status.CHARGING
        saved(lambda evse=evse: services.evse_update(evse=evse))
    failed = list(Delivery.objects.filter(status="failed", method="PATCH").order_by("id"))
    assert len(failed) == 2

    listing = admin_client.get(
        reverse("admin:pushers_delivery_changelist"),
        {"status": "failed", "partner__id__exact": push_partner.pk, "q": f"E:{first.pk}"},
    )
    assert list(listing.context["cl"].result_list) == [failed[0]]
    assert "HTTP 400 OCPI 2001: as told" in listing.content.decode()
    detail = admin_client.get(reverse("admin:pushers_delivery_change", args=[failed[0].pk]))
    assert detail.status_code == 200

    retried = saved(lambda: _action(admin_client, "delivery", "retry_now", [failed[0].pk]))
    discarded = _action(admin_client, "delivery", "discard", [failed[1].pk])

    assert [str(m) for m in retried.context["messages"]] == ["1 delivery queued again."]
    assert [str(m) for m in discarded.context["messages"]] == ["1 delivery discarded."]

    assert Delivery.objects.get(pk=failed[0].pk).status == "succeeded"
    assert Delivery.objects.get(pk=failed[1].pk).status == "discarded"
    assert theirs(receiver, sites[0])["evses"][0]["status"] == "CHARGING"


def test_the_sync_command_sends_every_location_with_a_progress_bar(sites, push_partner, receiver):
    receiver.locations.clear()
    out = StringIO()

    call_command("ocpi_push_sync", partner=push_partner.name, stdout=out)

    output = out.getvalue()
    assert f"Full sync #{FullSync.objects.get().pk}: 2 Locations to {push_partner}." in output
    assert "\r[" + "#" * 40 + "] 2/2 (100%)" in output
    assert output.rstrip().endswith("Done: 2 succeeded.")
    for site in sites:
        assert theirs(receiver, site) == ours(site)


def test_the_sync_command_refuses_an_unknown_partner(db):
    with pytest.raises(CommandError, match="No partner named 'Nobody'"):
        call_command("ocpi_push_sync", partner="Nobody", stdout=StringIO())


def test_the_admin_full_sync_is_built_by_a_worker_not_in_the_request(
    sites, push_partner, receiver, admin_client, django_capture_on_commit_callbacks
):
    state = PartnerPushState.objects.get(partner=push_partner)
    receiver.locations.clear()

    with django_capture_on_commit_callbacks() as after_commit:
        response = _action(admin_client, "partnerpushstate", "full_sync", [state.pk])

    # The request wrote one row (its Locations counted); the deliveries wait for the task
    # queued after commit.
    sync = FullSync.objects.get()
    assert (sync.queued, sync.total, sync.requested_by) == (True, 2, "admin")
    assert not Delivery.objects.filter(full_sync=sync).exists()
    [message] = [str(m) for m in response.context["messages"]]
    assert message.endswith(
        f"#{sync.pk}</a> to {push_partner} queued; its progress shows under Full syncs."
    )
    listing = admin_client.get(reverse("admin:pushers_fullsync_changelist")).content.decode()
    assert "queued: waiting for a worker to list the Locations" in listing

    for callback in after_commit:  # the worker's turn (eager), and the sends it queues
        with django_capture_on_commit_callbacks(execute=True):
            callback()

    sync.refresh_from_db()
    assert (sync.queued, sync.total) == (False, 2)
    for site in sites:
        assert theirs(receiver, site) == ours(site)
    listing = admin_client.get(reverse("admin:pushers_fullsync_changelist"))
    assert _cells(listing, "progress") == ["2/2 settled: 2 accepted, 0 refused"]


def test_a_requested_full_sync_whose_message_was_lost_is_queued_again_by_the_sweeper(
    sites, push_partner, receiver, saved, django_capture_on_commit_callbacks
):
    from pushers import operations, sweeper

    with django_capture_on_commit_callbacks(execute=False):  # the message is lost
        sync = operations.full_sync_request(partner_id=push_partner.pk, requested_by="admin")
    receiver.locations.clear()

    saved(lambda: sweeper.sweep(grace=0))

    sync.refresh_from_db()
    assert (sync.queued, sync.total) == (False, 2)
    for site in sites:
        assert theirs(receiver, site) == ours(site)


def test_a_second_message_for_the_same_full_sync_builds_nothing_twice(
    sites, push_partner, saved, django_capture_on_commit_callbacks
):
    from pushers import operations

    with django_capture_on_commit_callbacks(execute=False):
        sync = operations.full_sync_request(partner_id=push_partner.pk)

    assert saved(lambda: operations.full_sync_continue(sync.pk)) is True  # all queued
    assert saved(lambda: operations.full_sync_continue(sync.pk)) is True  # nothing more
    assert Delivery.objects.filter(full_sync=sync).count() == 2


def test_retrying_a_partners_backlog_from_the_admin_is_queued(
    sites, push_partner, receiver, admin_client, saved
):
    receiver.answer_next((500, 3000))
    evse = EVSE.objects.filter(location=sites[0]).first()
    evse.status = Status.CHARGING
    saved(lambda: services.evse_update(evse=evse))
    assert Delivery.objects.get(status="pending").next_attempt_at is not None
    state = PartnerPushState.objects.get(partner=push_partner)

    response = saved(lambda: _action(admin_client, "partnerpushstate", "retry_now", [state.pk]))

    assert [str(m) for m in response.context["messages"]] == [
        "Retry of the waiting deliveries of 1 partner queued."
    ]
    assert theirs(receiver, sites[0])["evses"][0]["status"] == "CHARGING"


def test_retrying_a_large_selection_of_deliveries_is_queued(
    sites, push_partner, receiver, admin_client, saved, monkeypatch
):
    from pushers import admin as push_admin

    monkeypatch.setattr(push_admin, "RETRY_IN_REQUEST", 1)  # instead of making 201 of them
    receiver.answer_next(*[(400, 2001)] * 4)
    for site in sites:
        evse = EVSE.objects.filter(location=site).first()
        evse.status = Status.CHARGING
        saved(lambda evse=evse: services.evse_update(evse=evse))
    failed = list(
        Delivery.objects.filter(status="failed", method="PATCH").values_list("pk", flat=True)
    )
    assert len(failed) == 2

    response = saved(lambda: _action(admin_client, "delivery", "retry_now", failed))

    assert [str(m) for m in response.context["messages"]] == [
        "Retry of 2 deliveries queued; the list shows them as they go."
    ]
    assert set(Delivery.objects.filter(pk__in=failed).values_list("status", flat=True)) == {
        "succeeded"
    }


def test_a_full_sync_with_refused_locations_shows_how_many_were_refused_with_links(
    sites, push_partner, receiver, admin_client, saved
):
    receiver.answer_next((422, 2001))  # the first Location of the sync is refused
    state = PartnerPushState.objects.get(partner=push_partner)

    saved(lambda: _action(admin_client, "partnerpushstate", "full_sync", [state.pk]))

    sync = FullSync.objects.get()
    listing = admin_client.get(reverse("admin:pushers_fullsync_changelist"))
    assert _cells(listing, "progress") == ["2/2 settled: 1 accepted, 1 refused"]
    refused = reverse("admin:pushers_delivery_changelist") + (
        f"?full_sync={sync.pk}&amp;status__exact=failed"
    )
    assert f'<a href="{refused}">1 refused</a>' in listing.content.decode()
    states = admin_client.get(reverse("admin:pushers_partnerpushstate_changelist"))
    assert _cells(states, "full_sync_progress") == [
        f"2/2 settled: 1 accepted, 1 refused ({timezone.localtime(sync.created_at):%Y-%m-%d %H:%M})"
    ]
    deliveries = admin_client.get(refused.replace("&amp;", "&"))
    assert [d.status for d in deliveries.context["cl"].result_list] == ["failed"]


def test_deliveries_are_named_by_their_ocpi_ids_with_the_reason_of_a_refusal(
    sites, push_partner, receiver, admin_client, saved
):
    evse = EVSE.objects.filter(location=sites[0]).first()
    connector = evse.connectors.first()
    receiver.answer_next((404, 2003))  # the PATCH of the Connector; its Location PUT heals it
    connector.max_amperage = 20
    saved(lambda: services.connector_update(connector=connector))

    listing = admin_client.get(reverse("admin:pushers_delivery_changelist"))

    location = f"NL*EXA*{sites[0].id}"
    assert _cells(listing, "ocpi_object")[:2] == [
        location,
        f"{location} / EVSE {evse.uid} / Connector {connector.id}",
    ]
    assert _cells(listing, "message")[:2] == [
        "PUT Location",
        "PATCH Connector: max_amperage",
    ]
    assert _cells(listing, "outcome")[:2] == ["succeeded, 1 attempt", "failed, 1 attempt"]
    assert _cells(listing, "last_answer")[1] == "HTTP 404 OCPI 2003: as told"
    assert re.fullmatch(r"HTTP 200 OCPI 1000, \d+ ms", _cells(listing, "last_answer")[0])
    assert "L:" not in "".join(_cells(listing, "ocpi_object"))


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        "admin:pushers_partnerpushstate_changelist",
        "admin:pushers_delivery_changelist",
        "admin:pushers_fullsync_changelist",
    ],
)
def test_the_push_lists_cost_the_same_queries_for_few_or_many_rows(
    sites, push_partner, receiver, admin_client, saved, url
):
    from pushers import operations

    receiver.answer_next((422, 2001))
    operations.full_sync_start(partner_id=push_partner.pk)
    small = _queries(admin_client, reverse(url))

    for n in range(3):
        with Receiver() as other:
            partner = add_push_partner(other, name=f"Other {n}", party_id=f"OT{n}")
            other.answer_next((500, 3000), (422, 2001))
            saved(lambda: build_site(n_evses=2))
            saved(lambda partner=partner: operations.full_sync_start(partner_id=partner.pk))

    assert Delivery.objects.count() > 10
    assert _queries(admin_client, reverse(url)) == small
