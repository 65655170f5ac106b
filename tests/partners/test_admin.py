"""The partner admin: write-only secrets, final revocation, state changes only through the
operations (with their OCPI effects), confirmation pages, tokens shown once."""

import io
import re
from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from partners.models import IssuedToken, Partner, PartnerEndpoint
from partners.services import partner_create, partner_create_pending
from pushers.models import FullSync
from tests.conftest import token_header

THEIR_TOKEN = "their-token-for-us-abcd9876"
OUR_TOKEN = "our-token-c-for-them-0123456789"


@pytest.fixture
def partner(db):
    partner, _ = partner_create(
        name="Example eMSP", country_code="DE", party_id="EMS", token=OUR_TOKEN
    )
    partner.outgoing_token = THEIR_TOKEN
    partner.save()
    return partner


def change_url(partner: Partner) -> str:
    return f"/admin/partners/partner/{partner.pk}/change/"


class _Form(HTMLParser):
    """What a browser submits for the change form: named inputs, checked boxes, selects."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button"):
            if attrs.get("type") == "checkbox":
                if "checked" in attrs:
                    self.values[name] = attrs.get("value") or "on"
            else:
                self.values[name] = attrs.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.values[self._select] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def page_form(client: Client, url: str) -> dict[str, str]:
    reader = _Form()
    reader.feed(client.get(url).content.decode())
    reader.values.pop("action", None)
    return {**reader.values, "_save": "Save"}


def works(token: str) -> bool:
    return Client(HTTP_AUTHORIZATION=token_header(token)).get("/ocpi/2.2.1").status_code == 200


# --- The token the partner gave us is write-only ---------------------------------------------


def test_the_change_page_never_shows_their_token_only_its_last_four_characters(
    partner, admin_client
):
    page = admin_client.get(change_url(partner)).content.decode()

    assert THEIR_TOKEN not in page
    assert "…9876 (set)" in page
    assert 'name="new_outgoing_token"' in page
    assert 'name="outgoing_token"' not in page


def test_saving_the_page_without_a_new_token_keeps_theirs(partner, admin_client):
    form = page_form(admin_client, change_url(partner))
    form["versions_url"] = "https://emsp.example.com/ocpi/versions"

    response = admin_client.post(change_url(partner), form)

    assert response.status_code == 302
    partner.refresh_from_db()
    assert (partner.outgoing_token, partner.versions_url) == (
        THEIR_TOKEN,
        "https://emsp.example.com/ocpi/versions",
    )


def test_a_new_token_for_us_is_stored_and_not_shown_back(partner, admin_client):
    form = page_form(admin_client, change_url(partner))
    form["new_outgoing_token"] = "a-brand-new-token-of-theirs-5555"

    admin_client.post(change_url(partner), form)

    partner.refresh_from_db()
    assert partner.outgoing_token == "a-brand-new-token-of-theirs-5555"
    page = admin_client.get(change_url(partner)).content.decode()
    assert "a-brand-new-token-of-theirs-5555" not in page
    assert "…5555 (set)" in page


def test_the_state_cannot_be_set_from_the_form(partner, admin_client):
    partner.state = Partner.State.UNREGISTERED
    partner.save()
    form = page_form(admin_client, change_url(partner))
    form["state"] = Partner.State.REGISTERED

    admin_client.post(change_url(partner), form)

    assert Partner.objects.get(pk=partner.pk).state == Partner.State.UNREGISTERED
    assert not works(OUR_TOKEN)


def test_a_view_only_user_sees_the_partner_page(partner, django_user_model):
    # It was an HTTP 500 (KeyError in the admin) for a user with view permissions only.
    from django.contrib.auth.models import Group

    viewer = django_user_model.objects.create_user("desk", password="x-long-pass-1", is_staff=True)
    viewer.groups.add(Group.objects.get(name="Viewer"))
    client = Client()
    client.force_login(viewer)

    page = client.get(change_url(partner))

    assert page.status_code == 200
    assert THEIR_TOKEN not in page.content.decode()
    assert "…9876 (set)" in page.content.decode()
    assert 'name="new_outgoing_token"' not in page.content.decode()


def test_partners_are_not_deleted_unregister_instead(partner, admin_client):
    assert admin_client.get(f"/admin/partners/partner/{partner.pk}/delete/").status_code == 403
    page = admin_client.get(change_url(partner)).content.decode()
    assert "deletelink" not in page
    assert "/operation/unregister/" in page
    listing = admin_client.get("/admin/partners/partner/")
    choices = [name for name, _ in listing.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in choices


# --- Revocation is final ---------------------------------------------------------------------


def test_a_token_revoked_from_the_page_stops_working(partner, admin_client):
    form = page_form(admin_client, change_url(partner))
    index = next(k.split("-")[1] for k in form if re.fullmatch(r"issued_tokens-\d+-id", k))
    form[f"issued_tokens-{index}-revoke"] = "on"

    admin_client.post(change_url(partner), form)

    assert IssuedToken.objects.get(partner=partner).revoked_at is not None
    assert not works(OUR_TOKEN)


def test_a_revoked_token_cannot_be_revived_from_the_page(partner, admin_client):
    IssuedToken.objects.filter(partner=partner).update(revoked_at=timezone.now())
    form = page_form(admin_client, change_url(partner))
    # The box is ticked and disabled; a browser leaves it out, a forged form too.
    index = next(k.split("-")[1] for k in form if re.fullmatch(r"issued_tokens-\d+-id", k))
    form.pop(f"issued_tokens-{index}-revoke", None)
    form[f"issued_tokens-{index}-revoked_at"] = ""

    admin_client.post(change_url(partner), form)

    assert IssuedToken.objects.get(partner=partner).revoked_at is not None
    assert not works(OUR_TOKEN)


def test_a_revoked_token_cannot_be_revived_by_any_save(partner):
    token = IssuedToken.objects.get(partner=partner)
    token.revoked_at = timezone.now()
    token.save()

    token.revoked_at = None
    with pytest.raises(ValidationError, match="A revoked token cannot be brought back"):
        token.save()

    assert IssuedToken.objects.get(pk=token.pk).revoked_at is not None


# --- Operations: confirmation, a token shown once --------------------------------------------


def _rotate(client: Client, partner: Partner, *, confirmed: bool):
    data = {"action": "rotate_token_c", "_selected_action": [str(partner.pk)]}
    if confirmed:
        data["post"] = "yes"
    return client.post("/admin/partners/partner/", data)


def test_rotating_a_token_asks_first_and_changes_nothing_until_confirmed(partner, admin_client):
    response = _rotate(admin_client, partner, confirmed=False)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Are you sure?" in page
    assert "stops working at once" in page
    assert "Example eMSP (Registered)" in page
    assert works(OUR_TOKEN)
    assert IssuedToken.objects.filter(partner=partner).count() == 1


def test_a_rotated_token_is_shown_once_on_the_answer_page_never_in_a_cookie(partner, admin_client):
    response = _rotate(admin_client, partner, confirmed=True)

    assert response.status_code == 200
    page = response.content.decode()
    new_token = re.search(r'<code class="issued-token">([^<]+)</code>', page).group(1)
    assert works(new_token)
    assert not works(OUR_TOKEN)
    assert "no-store" in response["Cache-Control"].split(", ")
    cookies = " ".join(m.value for m in response.cookies.values())
    assert new_token not in cookies
    assert "messages" not in response.cookies
    # Not shown again anywhere.
    for url in [change_url(partner), "/admin/partners/partner/"]:
        again = admin_client.get(url)
        assert new_token not in again.content.decode()
        assert new_token not in " ".join(m.value for m in again.cookies.values())


def test_the_operation_page_of_one_partner_asks_then_acts(partner, admin_client):
    url = f"/admin/partners/partner/{partner.pk}/operation/rotate_token_c/"

    asked = admin_client.get(url)
    done = admin_client.post(url, {"post": "yes"})

    assert "Yes, I’m sure" in asked.content.decode()
    assert "issued-token" in done.content.decode()
    assert not works(OUR_TOKEN)


def test_a_new_token_a_makes_an_unregistered_partner_pending_again(partner, admin_client):
    partner.state = Partner.State.UNREGISTERED
    partner.save()
    url = f"/admin/partners/partner/{partner.pk}/operation/new_token_a/"

    done = admin_client.post(url, {"post": "yes"})

    token_a = re.search(r'<code class="issued-token">([^<]+)</code>', done.content.decode())
    assert Partner.objects.get(pk=partner.pk).state == Partner.State.PENDING
    issued = IssuedToken.objects.get(partner=partner, revoked_at__isnull=True)
    assert (issued.kind, issued.hint) == ("A", token_a.group(1)[:4])
    assert not works(OUR_TOKEN)


def test_an_operation_on_a_partner_in_the_wrong_state_is_a_warning_and_changes_nothing(
    db, admin_client
):
    pending, _ = partner_create_pending(name="Pending eMSP")

    response = admin_client.post(
        "/admin/partners/partner/",
        {"action": "suspend", "_selected_action": [str(pending.pk)]},
        follow=True,
    )

    [message] = list(response.context["messages"])
    assert message.level_tag == "warning"
    assert str(message) == "Pending eMSP was left alone: it is pending."
    assert Partner.objects.get(pk=pending.pk).state == Partner.State.PENDING


def test_suspending_refuses_their_token_and_resuming_queues_a_full_sync(
    partner, admin_client, django_capture_on_commit_callbacks
):
    PartnerEndpoint.objects.create(
        partner=partner, identifier="locations", role="RECEIVER", url="http://127.0.0.1:9/loc"
    )

    def act(name):
        return admin_client.post(
            "/admin/partners/partner/",
            {"action": name, "_selected_action": [str(partner.pk)]},
            follow=True,
        )

    suspended = act("suspend")
    assert [str(m) for m in suspended.context["messages"]] == ["Example eMSP is suspended."]
    assert Partner.objects.get(pk=partner.pk).state == Partner.State.SUSPENDED
    assert not works(OUR_TOKEN)

    with django_capture_on_commit_callbacks() as queued:
        resumed = act("resume")

    assert [str(m) for m in resumed.context["messages"]] == [
        "Example eMSP is registered again; a full sync of the Locations is queued."
    ]
    assert works(OUR_TOKEN)
    sync = FullSync.objects.get(partner=partner)
    assert (sync.queued, sync.requested_by) == (True, "resumed after suspension")
    assert len(queued) == 1  # the task that builds it, after commit


# --- Unregistering: the partner is told (OCPI credentials DELETE) ----------------------------


@pytest.mark.django_db(transaction=True)
def test_unregistering_tells_the_partner_and_revokes_everything(our_server, emsp, admin_client):
    call_command(
        "ocpi_register", "--versions-url", emsp.versions_url, "--token", emsp.token_a,
        "--name", "Fake eMSP", stdout=io.StringIO(),
    )  # fmt: skip
    partner = Partner.objects.get(name="Fake eMSP")
    our_token = emsp.our_token
    assert works(our_token)
    url = f"/admin/partners/partner/{partner.pk}/operation/unregister/"

    asked = admin_client.get(url)
    assert "cannot be undone" in asked.content.decode()
    assert Partner.objects.get(pk=partner.pk).state == Partner.State.REGISTERED

    done = admin_client.post(url, {"post": "yes"})

    page = done.content.decode()
    assert f"DELETE {emsp.credentials_url} answered HTTP 200" in page
    [delete] = emsp.requests_to("/ocpi/2.2.1/credentials", method="DELETE")
    assert delete.token == emsp.token_c
    partner.refresh_from_db()
    assert (partner.state, partner.outgoing_token) == (Partner.State.UNREGISTERED, "")
    assert not works(our_token)
    assert not IssuedToken.objects.filter(partner=partner, revoked_at__isnull=True).exists()


def test_unregistering_more_partners_at_once_than_a_request_can_call_is_refused(db, admin_client):
    # Each unregistration calls the partner (up to the handshake deadline): three in one
    # request could outlast the web server's timeout, so nothing is done.
    partners = [
        partner_create(name=f"eMSP {n}", country_code="DE", party_id=f"EM{n}")[0] for n in range(3)
    ]

    response = admin_client.post(
        "/admin/partners/partner/",
        {"action": "unregister", "_selected_action": [p.pk for p in partners], "post": "yes"},
    )

    assert response.status_code == 200
    assert "Select at most 2 partners for" in response.content.decode()
    assert set(Partner.objects.values_list("state", flat=True)) == {Partner.State.REGISTERED}
