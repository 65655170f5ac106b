"""The dashboard with a failing partner, in a real browser (issue 15, parts 1 and 6).

Three partners: one whose Receiver takes every push, one whose Receiver (a real HTTP server on
127.0.0.1) refuses every call with HTTP 404, and one that pulls (no Locations Receiver
endpoint). Sites are created through the services; a real worker pushes them. The operator
then finds on the admin index each partner's health, the refusals with their reason, the EVSE
statuses, and follows the links to the filtered lists, at 1,280 px without horizontal
scrolling. Screenshots: test-artifacts/browser/<database vendor>/<test>/NN-step.png.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from partners.services import partner_create
from pushers.models import DeliveryAttempt
from tests.e2e.test_admin_browser import Steps, log_in, settled
from tests.pushers.conftest import add_push_partner, build_site, wait_until
from tests.pushers.receiver import Receiver

pytestmark = pytest.mark.slow

PUSH_TIMEOUT = 60  # seconds


@pytest.fixture
def refusing_receiver():
    with Receiver() as partner:
        partner.answer_next(*[(404, 2003)] * 100)  # every Locations call: "unknown location"
        yield partner


def fits(page: Page) -> bool:
    """No horizontal scrolling: neither the page nor a list's table (which scrolls inside
    its own box) is wider than its room."""
    return page.evaluate(
        """document.documentElement.scrollWidth <= window.innerWidth
        && [...document.querySelectorAll('.results, .module')].every(
            box => box.scrollWidth <= box.clientWidth + 1)"""
    )


def test_the_dashboard_shows_a_failing_partner_and_links_to_what_failed(
    page: Page, shots, operator, worker, receiver, refusing_receiver
):
    add_push_partner(receiver, name="Healthy eMSP", party_id="HEA")
    refusing = add_push_partner(refusing_receiver, name="Refusing eMSP", party_id="REF")
    partner_create(name="Pulling eMSP", country_code="DE", party_id="PUL")
    sites = [build_site(n_evses=2) for _ in range(3)]

    def pushed():
        """each site to reach both partners (the refusing one refuses each)"""
        refused = DeliveryAttempt.objects.filter(partner=refusing, outcome="permanent")
        return len(receiver.pushes()) >= 3 and refused.count() >= 3 and settled()

    wait_until(pushed, timeout=PUSH_TIMEOUT)
    page.set_viewport_size({"width": 1280, "height": 1000})
    steps = Steps(page, shots)
    log_in(page, steps, *operator)

    push = page.locator("#dashboard-push")
    rows = push.locator("tbody tr")
    # Worst first: failing, healthy, then the one nothing is pushed to.
    expect(rows.locator("th")).to_have_text(["Refusing eMSP", "Healthy eMSP", "Pulling eMSP"])
    expect(rows.nth(0).locator(".health")).to_have_text(re.compile(r"^failing since \d{4}-"))
    expect(rows.nth(0)).to_contain_text("3 refused")
    expect(rows.nth(0).locator("ul.reasons li")).to_have_text(["3 × HTTP 404 OCPI 2003: as told"])
    expect(rows.nth(1).locator(".health")).to_have_text("healthy")
    expect(rows.nth(2).locator(".health")).to_have_text(
        "not pushed to (no Locations Receiver endpoint: pull only)"
    )
    evses = page.locator("#dashboard-evse-statuses")
    expect(evses.locator("h2")).to_contain_text("6 EVSEs at 3 Locations")
    expect(page.locator("#dashboard-recent-changes tbody tr")).not_to_have_count(0)
    assert fits(page)
    steps.shot("dashboard-failing-partner")

    # The refusals link to the refused deliveries, each named by its OCPI ids.
    rows.nth(0).get_by_role("link", name="3 refused").click()
    expect(page).to_have_url(re.compile(r"/admin/pushers/delivery/\?.*status__exact=failed"))
    objects = page.locator("td.field-ocpi_object")
    expect(objects).to_have_count(3)
    assert sorted(objects.all_inner_texts()) == sorted(f"NL*EXA*{site.id}" for site in sites)
    expect(page.locator("td.field-last_answer").first).to_have_text("HTTP 404 OCPI 2003: as told")
    assert fits(page)
    steps.shot("refused-deliveries")

    # The push states list says the same as the dashboard.
    page.goto("/admin/pushers/partnerpushstate/")
    states = page.locator("#result_list tbody tr")
    expect(states).to_have_count(3)
    refusing_row = states.filter(has_text="Refusing eMSP")
    expect(refusing_row.locator("td.field-health")).to_have_text(
        re.compile(r"^failing since \d{4}-")
    )
    expect(states.filter(has_text="Pulling eMSP").locator("td.field-health")).to_have_text(
        "not pushed to (no Locations Receiver endpoint: pull only)"
    )
    assert fits(page)
    steps.shot("partner-push-states")

    # An EVSE status count opens the EVSE list filtered by that status.
    page.goto("/admin/")
    evses.get_by_role("link", name=re.compile(r"^6 Available")).click()
    expect(page).to_have_url(re.compile(r"/admin/locations/evse/\?status__exact=AVAILABLE$"))
    expect(page.locator("#result_list tbody tr")).to_have_count(6)
