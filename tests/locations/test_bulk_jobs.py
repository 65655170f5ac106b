"""Bulk actions on more rows than ADMIN_BULK_IN_REQUEST: queued as a BulkChange for a worker,
applied a batch per transaction with its progress (`locations.bulk_jobs`), shown in the
admin."""

from datetime import timedelta

import pytest

from locations import bulk_changes, bulk_jobs
from locations.enums import Status
from locations.models import EVSE, BulkChange, Location
from ocpi_site.celery import app as celery_app
from tests.locations.test_admin import EVSE_LIST, LOCATION_LIST, messages_of
from tests.locations.test_bulk_changes import make_sites

BULK_LIST = "/admin/locations/bulkchange/"


@pytest.fixture(autouse=True)
def _small_threshold(settings, monkeypatch):
    settings.ADMIN_BULK_IN_REQUEST = 3
    monkeypatch.setattr(bulk_changes, "BATCH", 2)


def test_a_status_action_on_more_rows_than_the_threshold_is_queued_not_written(
    admin_client, django_capture_on_commit_callbacks
):
    sites = make_sites(5)
    evses = list(EVSE.objects.order_by("location_id"))

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            EVSE_LIST,
            {"action": "set_status_blocked", "_selected_action": [e.pk for e in evses]},
            follow=True,
        )

    job = BulkChange.objects.get()
    assert (job.kind, job.value, job.ids, job.total, job.requested_by) == (
        "evse_status",
        "BLOCKED",
        [e.pk for e in evses],  # in the order of their Locations
        5,
        "admin",
    )
    assert messages_of(response) == [
        (
            "success",
            f'Set status to BLOCKED on 5 EVSEs queued as <a href="{BULK_LIST}{job.pk}/change/">'
            f"bulk change #{job.pk}</a>: a worker applies it 2 rows at a time; its progress "
            "shows under Bulk changes.",
        )
    ]
    assert len(callbacks) == 1  # the task, queued after the commit
    assert set(EVSE.objects.values_list("status", flat=True)) == {Status.AVAILABLE}
    assert len(sites) == 5


def test_a_queued_job_goes_a_batch_at_a_time_with_its_progress(admin_client):
    make_sites(5)
    (removed, *others) = EVSE.objects.order_by("location_id")
    bulk_changes.set_evses_status([removed.pk], Status.REMOVED)
    job = bulk_jobs.request(
        kind="evse_status", value="CHARGING", ids=[removed.pk] + [e.pk for e in others]
    )
    seen = [bulk_jobs.progress(job)]

    while bulk_jobs.run_batch(job.pk):
        job.refresh_from_db()
        seen.append(bulk_jobs.progress(job))
    job.refresh_from_db()
    seen.append(bulk_jobs.progress(job))

    assert seen == [
        "queued: waiting for a worker",
        "2/5 (40%)",
        "4/5 (80%)",
        f"done: 4 changed, 0 had it already, 1 left alone (removed EVSEs stay removed: "
        f"{removed.uid})",
    ]
    assert EVSE.objects.get(pk=removed.pk).status == Status.REMOVED
    assert set(EVSE.objects.exclude(pk=removed.pk).values_list("status", flat=True)) == {
        Status.CHARGING
    }
    assert seen[-1] in admin_client.get(BULK_LIST).content.decode()


def test_a_batch_message_that_comes_again_after_the_end_changes_nothing(db):
    make_sites(2)
    job = bulk_jobs.request(
        kind="evse_status", value="BLOCKED", ids=list(EVSE.objects.values_list("pk", flat=True))
    )
    assert bulk_jobs.run_batch(job.pk) is False  # 2 rows: one batch, done
    versions = list(EVSE.objects.values_list("version", flat=True))

    assert bulk_jobs.run_batch(job.pk) is False

    assert list(EVSE.objects.values_list("version", flat=True)) == versions
    job.refresh_from_db()
    assert (job.done, job.changed) == (2, 2)


def test_a_publish_action_above_the_threshold_is_queued_and_leaves_restricted_ones(
    admin_client, django_capture_on_commit_callbacks
):
    free = make_sites(3, publish=False)
    (restricted,) = make_sites(1, publish=False, publish_allowed_to=[{"group_id": "FLEET-1"}])
    with django_capture_on_commit_callbacks():
        admin_client.post(
            LOCATION_LIST,
            {
                "action": "publish_locations",
                "_selected_action": [loc.pk for loc in [*free, restricted]],
            },
        )
    job = BulkChange.objects.get()

    while bulk_jobs.run_batch(job.pk):
        pass

    job.refresh_from_db()
    assert bulk_jobs.progress(job) == (
        f"done: 3 changed, 0 had it already, 1 left alone (publish_allowed_to: {restricted.id})"
    )
    assert not Location.objects.get(pk=restricted.pk).publish


def test_the_sweep_queues_again_a_job_whose_message_was_lost(db):
    make_sites(4)
    job = bulk_jobs.request(
        kind="evse_status", value="BLOCKED", ids=list(EVSE.objects.values_list("pk", flat=True))
    )  # its message is never sent: the test's transaction does not commit
    BulkChange.objects.filter(pk=job.pk).update(updated_at=job.updated_at - timedelta(seconds=120))
    conf = celery_app.conf
    old = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, True
    try:
        assert bulk_jobs.sweep(grace=60) == 1
    finally:
        conf.task_always_eager, conf.task_eager_propagates = old

    job.refresh_from_db()
    assert job.done == 2  # its first batch ran; the next is queued after that commit
    assert bulk_jobs.sweep(grace=60) == 0  # moved on just now: not stalled
