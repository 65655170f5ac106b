"""Push log lines carry the ids of the partner, the lane and the delivery (LOG_FORMAT=json)."""

import io
import json
import logging

import pytest

from locations import services
from locations.enums import Status
from locations.models import EVSE
from monitoring.logs import JsonFormatter
from pushers.models import Delivery, Lane

from .conftest import build_site

pytestmark = pytest.mark.usefixtures("eager")


def test_the_lines_of_a_refused_push_carry_partner_lane_and_delivery_ids(
    push_partner, receiver, saved
):
    site = saved(lambda: build_site(n_evses=1))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level, root.level = root.level, logging.INFO
    receiver.answer_next((400, 2001))
    evse = EVSE.objects.get(location=site)
    evse.status = Status.CHARGING
    try:
        saved(lambda: services.evse_update(evse=evse))
    finally:
        root.removeHandler(handler)
        root.level = old_level

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    parked = Delivery.objects.get(status="failed")
    lane = Lane.objects.get()
    call = next(x for x in lines if x["message"].startswith("OCPI PATCH "))
    assert " -> HTTP 400 OCPI 2001: as told in " in call["message"]
    assert (call["partner_id"], call["lane_id"], call["delivery_id"]) == (
        push_partner.pk,
        lane.pk,
        parked.pk,
    )
    warning = next(x for x in lines if x["message"].startswith("Push "))
    assert warning["level"] == "WARNING"
    assert (warning["partner_id"], warning["lane_id"]) == (push_partner.pk, lane.pk)
    assert f"#{parked.pk} " in warning["message"]
