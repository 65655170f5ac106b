"""The push retry policy (`pushers.outcomes`): what an answer means for a Delivery."""

import pytest

from locations import services
from locations.enums import Status
from locations.models import EVSE
from pushers.models import Delivery, DeliveryAttempt
from pushers.outcomes import backoff, classify
from tests.factories import ocpi_result
from versions.client import is_success

from .conftest import build_site

pytestmark = pytest.mark.usefixtures("eager")

Outcome = DeliveryAttempt.Outcome


@pytest.mark.parametrize(
    ("http_status", "ocpi_status", "outcome"),
    [
        (200, 1000, Outcome.SUCCESS),
        (201, 1001, Outcome.SUCCESS),
        (200, 1999, Outcome.SUCCESS),
        (200, 2001, Outcome.PERMANENT),
        (404, 2003, Outcome.PERMANENT),
        (401, 2000, Outcome.PERMANENT),
        (200, 4001, Outcome.PERMANENT),
        (200, 3000, Outcome.TRANSIENT),
        (200, None, Outcome.TRANSIENT),
        (500, None, Outcome.TRANSIENT),
        (503, 3000, Outcome.TRANSIENT),
        (429, 2000, Outcome.TRANSIENT),
    ],
)
def test_each_answer_is_a_success_a_transient_or_a_permanent_failure(
    http_status, ocpi_status, outcome
):
    assert classify(ocpi_result(http_status, ocpi_status))[0] == outcome
    # Success is the client's one rule, nothing else.
    assert (outcome == Outcome.SUCCESS) is is_success(http_status, ocpi_status)


@pytest.mark.parametrize("ocpi_status", [1000, 1001, 1950, 2001])
def test_a_push_answered_with_any_1xxx_code_succeeds_and_another_code_is_parked(
    push_partner, receiver, saved, ocpi_status
):
    site = saved(build_site)
    evse = EVSE.objects.get(location=site)
    receiver.answer_next((200, ocpi_status))

    evse.status = Status.CHARGING
    saved(lambda: services.evse_update(evse=evse))

    delivery = Delivery.objects.get(evse=evse, method="PATCH")
    expected = Delivery.Status.SUCCEEDED if is_success(200, ocpi_status) else Delivery.Status.FAILED
    assert (delivery.status, delivery.last_ocpi_status) == (expected, ocpi_status)


def test_the_backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half(settings):
    settings.PUSH_RETRY_BACKOFF_BASE, settings.PUSH_RETRY_BACKOFF_MAX = 2, 30

    for failures, step in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 30), (12, 30)]:
        waits = [backoff(failures) for _ in range(50)]
        assert all(step / 2 <= wait <= step for wait in waits)
