"""Retention (`pushers.retention`): what is done goes after its period, in batches; what is
open, recent or being looked at stays."""

from datetime import timedelta

import pytest
from django.utils import timezone

from locations import services
from locations.enums import Status
from locations.models import EVSE
from pushers import retention
from pushers.models import ChangeRecord, Delivery, DeliveryAttempt

from .conftest import build_site

pytestmark = pytest.mark.usefixtures("eager")

Done = Delivery.Status


@pytest.fixture
def history(push_partner, receiver, saved, settings):
    """Three sites pushed, each with one status change: 6 succeeded Deliveries with their
    attempts, 6 change records fanned out."""
    settings.PUSH_KEEP_DAYS, settings.PUSH_KEEP_FAILED_DAYS = 14, 30
    settings.PUSH_KEEP_CHANGES_DAYS = 7
    sites = [saved(build_site) for _ in range(3)]
    for site in sites:
        evse = EVSE.objects.get(location=site)
        evse.status = Status.CHARGING
        saved(lambda evse=evse: services.evse_update(evse=evse))
    assert Delivery.objects.filter(status=Done.SUCCEEDED).count() == 6
    return sites


def _age(days: float) -> timezone.datetime:
    return timezone.now() - timedelta(days=days)


def _age_everything(days: float) -> None:
    Delivery.objects.update(finished_at=_age(days))
    DeliveryAttempt.objects.update(started_at=_age(days))
    ChangeRecord.objects.update(fanned_out_at=_age(days))


def test_rows_younger_than_their_periods_stay(history):
    _age_everything(6)

    purged = retention.purge(now=timezone.now())

    assert purged.total == 0
    assert (Delivery.objects.count(), ChangeRecord.objects.count()) == (6, 6)
    assert DeliveryAttempt.objects.count() == 6


def test_change_records_go_after_their_period_and_finished_deliveries_after_theirs(history):
    _age_everything(8)  # past the 7 days of change records, not the 14 of deliveries

    purged = retention.purge(now=timezone.now())

    assert (purged.change_records, purged.deliveries, purged.attempts) == (6, 0, 0)
    assert (Delivery.objects.count(), ChangeRecord.objects.count()) == (6, 0)

    _age_everything(15)
    purged = retention.purge(now=timezone.now())

    assert (purged.deliveries, purged.attempts) == (6, 6)
    assert Delivery.objects.count() == DeliveryAttempt.objects.count() == 0


def test_parked_deliveries_are_kept_longer_and_open_ones_always(history):
    failed, open_, *_ = Delivery.objects.order_by("id")
    Delivery.objects.filter(pk=failed.pk).update(status=Done.FAILED)
    _age_everything(20)
    Delivery.objects.filter(pk=open_.pk).update(status=Done.PENDING, finished_at=None)

    purged = retention.purge(now=timezone.now())

    assert (purged.deliveries, purged.failed_deliveries) == (4, 0)
    assert set(Delivery.objects.values_list("pk", flat=True)) == {failed.pk, open_.pk}

    Delivery.objects.filter(pk=failed.pk).update(finished_at=_age(31))
    purged = retention.purge(now=timezone.now())

    assert purged.failed_deliveries == 1
    assert list(Delivery.objects.values_list("pk", flat=True)) == [open_.pk]


def test_change_records_not_fanned_out_yet_are_work_and_stay(history):
    ChangeRecord.objects.update(fanned_out_at=None, created_at=_age(60))

    assert retention.purge(now=timezone.now()).change_records == 0
    assert ChangeRecord.objects.count() == 6


def test_a_purge_deletes_in_batches_and_leaves_the_rest_for_the_next_run(history, settings):
    settings.PUSH_PURGE_BATCH, settings.PUSH_PURGE_MAX_BATCHES = 2, 2
    _age_everything(40)

    first = retention.purge(now=timezone.now())
    second = retention.purge(now=timezone.now())

    assert (first.change_records, first.deliveries) == (4, 4)
    assert (second.change_records, second.deliveries) == (2, 2)
    assert Delivery.objects.count() == ChangeRecord.objects.count() == 0


@pytest.mark.parametrize("batch", [2, 6])
def test_a_batch_costs_the_same_statements_whatever_its_size(
    history, settings, batch, django_assert_num_queries
):
    settings.PUSH_PURGE_BATCH, settings.PUSH_PURGE_MAX_BATCHES = batch, 1
    _age_everything(40)
    DeliveryAttempt.objects.all().delete()
    # Each kind in a transaction (a savepoint here: 2). Attempts: none left (1 look-up).
    # Finished Deliveries: the batch's ids; their latencies, the partner's tallies and the
    # new tallies (/metrics); the rows for Django's cascade, their attempts, themselves (7).
    # Failed ones: none (1). Change records: the ids and one DELETE (2).
    with django_assert_num_queries((2 + 1) + (2 + 7) + (2 + 1) + (2 + 2)):
        retention.purge(now=timezone.now())
