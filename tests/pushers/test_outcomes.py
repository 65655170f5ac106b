"""The push retry policy (`pushers.outcomes`): what an answer means for a Delivery."""

import pytest

from locations import services
from locations.enums import Status
from locations.models import EVSE
from pushers.models import Delivery, DeliveryAttempt
from pushers.outcomes import Verdict, backoff, classify, classify_no_answer
from tests.factories import ocpi_result
from versions.client import OcpiCallFailed, PartnerUrlRefused, is_success

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
        (422, None, Outcome.PERMANENT),
        (200, 3000, Outcome.TRANSIENT),
        (500, None, Outcome.TRANSIENT),
        (503, 3000, Outcome.TRANSIENT),
        (429, 2000, Outcome.TRANSIENT),
        (408, None, Outcome.TRANSIENT),
        # Hub errors (OCPI 2.2.1, Status codes, 4xxx): only an unknown receiver is final.
        (200, 4000, Outcome.TRANSIENT),
        (200, 4001, Outcome.PERMANENT),
        (200, 4002, Outcome.TRANSIENT),
        (200, 4003, Outcome.TRANSIENT),
        (200, 4004, Outcome.TRANSIENT),
        (502, 4002, Outcome.TRANSIENT),
    ],
)
def test_each_answer_is_a_success_a_transient_or_a_permanent_failure(
    http_status, ocpi_status, outcome
):
    verdict = classify(ocpi_result(http_status, ocpi_status))

    assert verdict.outcome == outcome
    assert verdict.warning == ""
    # With an envelope, success is the client's one rule, nothing else.
    assert (outcome == Outcome.SUCCESS) is is_success(http_status, ocpi_status)


@pytest.mark.parametrize("body", [b"", b'{"ok": true}', b"<html>accepted</html>"])
def test_a_2xx_answer_without_an_envelope_is_a_success_with_a_warning(body):
    result = ocpi_result(200, None, body=body)

    assert classify(result) == Verdict(
        Outcome.SUCCESS,
        answer=body.decode(),
        warning="No OCPI envelope in the answer",
    )


def test_a_refusal_names_what_the_partner_said():
    with_message = ocpi_result(200, 2001, message="address length must be at most 45")
    without_envelope = ocpi_result(422, None, body=b'{"detail": "address too long"}')

    assert classify(with_message).error == "HTTP 200 OCPI 2001: address length must be at most 45"
    assert classify(with_message).answer == "address length must be at most 45"
    assert classify(without_envelope).error == 'HTTP 422: {"detail": "address too long"}'


def test_a_call_without_an_answer_is_transient_but_a_refused_url_is_permanent():
    assert classify_no_answer(OcpiCallFailed("timeout (ReadTimeout)")) == Verdict(
        Outcome.TRANSIENT, error="timeout (ReadTimeout)"
    )
    refused = classify_no_answer(PartnerUrlRefused("10.0.0.1 is a private address"))
    assert refused == Verdict(Outcome.PERMANENT, error="10.0.0.1 is a private address")


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


@pytest.mark.parametrize(
    ("ocpi_status", "status"),
    [
        (4002, Delivery.Status.PENDING),  # timeout at the hub: retried after a backoff
        (4003, Delivery.Status.PENDING),  # the receiving party is not connected: retried
        (4001, Delivery.Status.FAILED),  # unknown receiver: parked
    ],
)
def test_hub_errors_are_retried_except_an_unknown_receiver(
    push_partner, receiver, saved, ocpi_status, status
):
    site = saved(build_site)
    evse = EVSE.objects.get(location=site)
    receiver.answer_next((200, ocpi_status))

    evse.status = Status.CHARGING
    saved(lambda: services.evse_update(evse=evse))

    delivery = Delivery.objects.get(evse=evse, method="PATCH")
    assert (delivery.status, delivery.last_ocpi_status) == (status, ocpi_status)
    assert delivery.last_error == f"HTTP 200 OCPI {ocpi_status}: as told"


@pytest.mark.parametrize("body", [b"", b'{"result": "ok"}'])
def test_a_push_answered_2xx_without_an_envelope_is_delivered_with_a_warning(
    push_partner, receiver, saved, body
):
    site = saved(build_site)
    evse = EVSE.objects.get(location=site)
    receiver.fail(
        f"/ocpi/emsp/2.2.1/locations/{site.country_code}/{site.party_id}/{site.id}/{evse.uid}",
        http_status=200,
        body=body,
    )

    evse.status = Status.CHARGING
    saved(lambda: services.evse_update(evse=evse))

    delivery = Delivery.objects.get(evse=evse, method="PATCH")
    [attempt] = delivery.attempts_made.all()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert (attempt.outcome, attempt.warning, attempt.answer) == (
        Outcome.SUCCESS,
        "No OCPI envelope in the answer",
        body.decode(),
    )
