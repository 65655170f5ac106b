"""Discovery of a partner's API decides success by the client's one rule: any OCPI 1xxx
status code with HTTP 2xx (the push uses the same rule, tests/pushers/test_outcomes.py)."""

import pytest

from partners.discovery import PartnerApiUnusable, discover
from tests.ocpi_partner_server import VERSION, _json, envelope
from versions.client import is_success


@pytest.mark.parametrize("ocpi_status", [1000, 1001, 1950, 1999, 2000, 3000])
def test_their_versions_and_details_count_as_answered_by_the_one_success_rule(emsp, ocpi_status):
    versions = [{"version": VERSION, "url": f"{emsp.base_url}/ocpi/{VERSION}"}]
    emsp.fail(
        "/ocpi/versions", http_status=200, body=_json(envelope(versions, status_code=ocpi_status))
    )
    emsp.fail(
        f"/ocpi/{VERSION}",
        http_status=200,
        body=_json(envelope(emsp.version_details(), status_code=ocpi_status)),
    )

    if is_success(200, ocpi_status):
        discovery = discover(emsp.versions_url, token=emsp.token_a)
        assert (discovery.version, discovery.url("credentials")) == (
            VERSION,
            emsp.credentials_url,
        )
    else:
        with pytest.raises(PartnerApiUnusable, match=f"answered HTTP 200 OCPI {ocpi_status}"):
            discover(emsp.versions_url, token=emsp.token_a)
