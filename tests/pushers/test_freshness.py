"""A send round reads the partner again before each call: nothing goes out after an
unregistering or a pause, and a rotated token is used from the next call on.

The partner changes while the receiver answers the round's first call (in the receiver's
thread, with its own database connection), so these tests commit (transactional_db).
"""

import pytest
from django.db import connection

from locations import services
from locations.enums import Status
from locations.models import EVSE
from partners.models import Partner
from partners.services import partner_unregister
from pushers import operations
from pushers.models import Delivery

from .conftest import build_site

pytestmark = pytest.mark.usefixtures("eager")


@pytest.fixture
def five_waiting(transactional_db, push_partner, receiver):
    """A Location whose five EVSE changes wait in its lane while the partner is paused."""
    site = build_site(n_evses=5)
    operations.partner_set_paused(push_partner.pk, paused=True)
    for evse in EVSE.objects.filter(location=site):
        evse.status = Status.CHARGING
        services.evse_update(evse=evse)
    receiver.requests.clear()
    return site


def _on_first_patch(receiver, change) -> None:
    def hook(request):
        if request.method == "PATCH" and receiver.before_answer is not None:
            receiver.before_answer = None
            try:
                change()
            finally:
                connection.close()  # this thread's own connection

    receiver.before_answer = hook


def test_nothing_goes_out_after_the_partner_unregisters_mid_round(
    five_waiting, push_partner, receiver
):
    _on_first_patch(receiver, lambda: partner_unregister(partner=Partner.objects.get()))

    operations.partner_set_paused(push_partner.pk, paused=False)

    assert [r.method for r in receiver.pushes()] == ["PATCH"]
    left = Delivery.objects.filter(method="PATCH").exclude(status=Delivery.Status.SUCCEEDED)
    assert left.count() == 4
    assert not left.filter(status=Delivery.Status.SENDING).exists()


def test_nothing_goes_out_after_the_partner_is_paused_mid_round(
    five_waiting, push_partner, receiver
):
    _on_first_patch(receiver, lambda: operations.partner_set_paused(push_partner.pk, paused=True))

    operations.partner_set_paused(push_partner.pk, paused=False)

    assert [r.method for r in receiver.pushes()] == ["PATCH"]
    assert Delivery.objects.filter(method="PATCH", status=Delivery.Status.PENDING).count() == 4


def test_a_rotated_token_is_used_from_the_next_call_on(five_waiting, push_partner, receiver):
    receiver.accepted_tokens["rotated-token"] = "C"
    _on_first_patch(
        receiver,
        lambda: Partner.objects.filter(pk=push_partner.pk).update(outgoing_token="rotated-token"),
    )

    operations.partner_set_paused(push_partner.pk, paused=False)

    tokens = [r.token for r in receiver.pushes()]
    assert len(tokens) == 5
    assert tokens[1:] == ["rotated-token"] * 4
    assert tokens[0] != "rotated-token"
