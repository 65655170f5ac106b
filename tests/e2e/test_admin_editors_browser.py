"""The sub-object editors and the layout of the Location page in a real browser (issue 15).

- An operator changes a Location's opening hours with the week grid (a refused try first,
  then the right hours) and the receiver gets one PATCH whose whole body is checked; at the
  end the receiver's Location equals ours.
- The Location page (EVSEs inline, their Connectors nested, every section open) and the
  EVSE page are no wider than a 1,280 px window.

Real parts as in test_admin_browser.py: Chromium, the live server, a Celery worker process
and the loopback Locations Receiver. Screenshots: test-artifacts/browser/<vendor>/<test>/.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from locations import services
from locations.enums import Status
from locations.models import Location
from tests.e2e.test_admin_browser import (
    LOCATIONS_URL,
    Steps,
    log_in,
    stamp,
    success_message,
    wait_for_pushes,
)
from tests.factories import ConnectorFactory, EVSEFactory, LocationFactory
from tests.pushers.conftest import ours, theirs

pytestmark = pytest.mark.slow

SITE_ID = "LOC-GRID"
WIDTH = 1280


def make_site() -> Location:
    """A site with 2 EVSEs of 2 Connectors each, every Connector field filled."""
    evses = [
        (
            EVSEFactory.build(uid=f"EVSE-G{n}", evse_id=f"NL*EXA*EG{n}", status=Status.AVAILABLE),
            [
                ConnectorFactory.build(
                    id=str(c),
                    tariff_ids=["AC-STANDARD-TARIFF-2026", "AC-NIGHT-TARIFF-2026"],
                    terms_and_conditions="https://charging.example.com/terms-and-conditions",
                    max_electric_power=22080,
                )
                for c in (1, 2)
            ],
        )
        for n in (1, 2)
    ]
    return services.location_create(
        location=LocationFactory.build(
            country_code="NL",
            party_id="EXA",
            id=SITE_ID,
            name="Grid Garage",
            opening_times={"twentyfourseven": True},
        ),
        evses=evses,
    )


def page_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def open_all_sections(page: Page) -> None:
    """Open every collapsed fieldset (EVSE details, operator/owner/energy)."""
    for summary in page.locator("details > summary").all():
        if summary.is_visible():
            summary.click()
    for link in page.locator("fieldset.collapse a.collapse-toggle").all():
        if link.is_visible():
            link.click()


def period(page: Page, weekday: int, n: int):
    row = page.locator(f"tr.ocpi-hours-day[data-weekday='{weekday}'] .ocpi-period").nth(n)
    return row.locator("input").nth(0), row.locator("input").nth(1)


def type_period(page: Page, weekday: int, n: int, begin: str, end: str) -> None:
    start, stop = period(page, weekday, n)
    start.fill(begin)
    stop.fill(end)


def test_an_operator_sets_opening_hours_with_the_week_grid_and_the_receiver_gets_them(
    page, shots, operator, worker, push_partner, receiver
):
    site = make_site()
    [put] = wait_for_pushes(receiver, 1)
    assert (put.method, put.path) == ("PUT", f"{LOCATIONS_URL}/{SITE_ID}")
    receiver.requests.clear()
    steps = Steps(page, shots)
    log_in(page, steps, *operator)
    page.goto(f"/admin/locations/location/{site.pk}/change/")
    grid = page.locator("#id_opening_times")
    expect(grid.locator("input[value='247']")).to_be_checked()

    # Regular hours: Monday two periods, copied to Tuesday–Friday, Saturday one; Sunday
    # typed the wrong way round first.
    grid.get_by_label("Regular hours (below)").check()
    type_period(page, 1, 0, "08:00", "12:00")
    page.locator("tr.ocpi-hours-day[data-weekday='1']").get_by_role(
        "button", name="+ period"
    ).click()
    type_period(page, 1, 1, "13:00", "18:00")
    page.get_by_role("button", name="Copy to Tue–Fri").click()
    expect(period(page, 5, 1)[1]).to_have_value("18:00")
    type_period(page, 6, 0, "10:00", "16:00")
    type_period(page, 7, 0, "18:00", "09:00")
    closing = page.locator(".ocpi-hours-exceptional[data-key='close'] .ocpi-period").first
    closing.locator("input").nth(0).fill("2026-12-25T00:00:00Z")
    closing.locator("input").nth(1).fill("2026-12-26T00:00:00Z")
    steps.shot("opening-hours-typed")
    page.locator("input[name=_save]").click()

    # Refused, with the validator's message at the period it means; what was typed stays.
    expect(page.locator(".errornote")).to_be_visible()
    message = "opening_times.regular_hours[11].period_end: must be later than period_begin"
    expect(page.locator(".field-opening_times ul.errorlist")).to_contain_text(message)
    expect(page.locator("tr.ocpi-hours-day[data-weekday='7'] .ocpi-cell-error")).to_contain_text(
        "Sunday, period 1"
    )
    expect(period(page, 3, 1)[0]).to_have_value("13:00")
    steps.shot("opening-hours-refused")
    grid.screenshot(path=shots / "opening-hours-grid-refused.png")
    assert Location.objects.get(pk=site.pk).opening_times == {"twentyfourseven": True}

    type_period(page, 7, 0, "09:00", "18:00")
    page.locator("input[name=_save]").click()
    expect(page).to_have_url(re.compile(r"/admin/locations/location/$"))
    success_message(page, "was changed successfully")

    weekdays = [
        {"weekday": day, "period_begin": begin, "period_end": end}
        for day in range(1, 6)
        for begin, end in (("08:00", "12:00"), ("13:00", "18:00"))
    ]
    opening_times = {
        "twentyfourseven": False,
        "regular_hours": [
            *weekdays,
            {"weekday": 6, "period_begin": "10:00", "period_end": "16:00"},
            {"weekday": 7, "period_begin": "09:00", "period_end": "18:00"},
        ],
        "exceptional_closings": [
            {"period_begin": "2026-12-25T00:00:00Z", "period_end": "2026-12-26T00:00:00Z"}
        ],
    }
    [patch] = wait_for_pushes(receiver, 1)
    assert (patch.method, patch.path) == ("PATCH", f"{LOCATIONS_URL}/{SITE_ID}")
    assert patch.body == {"opening_times": opening_times, "last_updated": stamp(site)}
    assert ours(site)["opening_times"] == opening_times
    assert theirs(receiver, site) == ours(site)

    # The grid shows the stored hours again.
    page.goto(f"/admin/locations/location/{site.pk}/change/")
    expect(grid.locator("input[value='hours']")).to_be_checked()
    expect(period(page, 4, 1)[0]).to_have_value("13:00")
    steps.shot("opening-hours-saved")


def test_the_location_and_evse_pages_fit_a_1280_px_window(page, shots, operator):
    site = make_site()
    steps = Steps(page, shots)
    page.set_viewport_size({"width": WIDTH, "height": 900})
    log_in(page, steps, *operator)

    page.goto(f"/admin/locations/location/{site.pk}/change/")
    expect(page.locator("#id_evses-1-connectors-1-tariff_ids")).to_be_attached()
    # tariff_ids as tags: one chip per id; × removes it from the input.
    tariff_ids = page.locator("#id_evses-0-connectors-0-tariff_ids")
    chips = page.locator("#id_evses-0-connectors-0-tariff_ids + .ocpi-tag-list .ocpi-tag")
    expect(chips).to_have_text(["AC-STANDARD-TARIFF-2026×", "AC-NIGHT-TARIFF-2026×"])
    chips.nth(1).get_by_role("button", name="Remove AC-NIGHT-TARIFF-2026").click()
    expect(tariff_ids).to_have_value("AC-STANDARD-TARIFF-2026")
    tariff_ids.fill("AC-STANDARD-TARIFF-2026, AC-NIGHT-TARIFF-2026")
    expect(chips).to_have_count(2)
    open_all_sections(page)
    expect(page.locator("#id_evses-0-status_schedule_jsonform")).to_be_visible()
    assert page_width(page) <= WIDTH
    steps.shot("location-page-1280")
    # Close-ups of the editors (the best go to docs/images/).
    page.locator("fieldset:has(.field-opening_times)").screenshot(path=shots / "site-editors.png")
    page.locator("fieldset:has(.field-operator)").screenshot(path=shots / "operator-editors.png")
    page.locator("#evses-0").screenshot(path=shots / "evse-inline.png")
    page.locator("#evses-0-connectors-0").screenshot(path=shots / "connector.png")

    page.goto(f"/admin/locations/evse/{site.evses.order_by('uid').first().pk}/change/")
    expect(page.locator("#id_connectors-1-tariff_ids")).to_be_visible()
    assert page_width(page) <= WIDTH
    steps.shot("evse-page-1280")


def test_an_operator_adds_an_image_and_the_energy_mix_with_the_editors_and_they_are_pushed(
    page, shots, operator, worker, push_partner, receiver
):
    """django-jsonform's editors in Chromium: what they post, pruned of the empty members,
    is what is stored and pushed."""
    site = make_site()
    wait_for_pushes(receiver, 1)
    receiver.requests.clear()
    steps = Steps(page, shots)
    log_in(page, steps, *operator)
    page.goto(f"/admin/locations/location/{site.pk}/change/")

    images = page.locator("#id_images_jsonform")
    images.get_by_text("Add item").click()
    images.locator("input").nth(0).fill("https://example.com/site.jpg")
    images.locator("select").first.select_option(label="Location")
    images.locator("input").nth(1).fill("jpeg")

    open_all_sections(page)
    mix = page.locator("#id_energy_mix_jsonform")
    mix.get_by_text("Add item").first.click()
    mix.locator("input[type=checkbox]").first.check()
    mix.get_by_text("Add item").first.click()  # the first energy source
    mix.locator("select").first.select_option(label="Solar")
    mix.locator("input[type=number]").first.fill("100")
    page.locator("#id_operator_jsonform input").first.fill("Example Charging")
    steps.shot("editors-typed")
    page.locator("fieldset:has(.field-operator)").screenshot(path=shots / "editors-typed.png")
    page.locator("input[name=_save]").click()
    expect(page).to_have_url(re.compile(r"/admin/locations/location/$"))
    success_message(page, "was changed successfully")

    [patch] = wait_for_pushes(receiver, 1)
    assert (patch.method, patch.path) == ("PATCH", f"{LOCATIONS_URL}/{SITE_ID}")
    assert patch.body == {
        "operator": {"name": "Example Charging"},
        "images": [{"url": "https://example.com/site.jpg", "category": "LOCATION", "type": "jpeg"}],
        "energy_mix": {
            "is_green_energy": True,
            "energy_sources": [{"source": "SOLAR", "percentage": 100}],
        },
        "last_updated": stamp(site),
    }
    assert theirs(receiver, site) == ours(site)
