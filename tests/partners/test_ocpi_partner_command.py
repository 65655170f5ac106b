import shlex
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from partners.models import IssuedToken, Partner
from tests.conftest import token_header


def test_create_prints_a_working_token_once_and_stores_only_its_hash(db):
    out = StringIO()

    call_command(
        "ocpi_partner", "create", "--name", "Roaming", "--country-code", "de", "--party-id", "rom",
        stdout=out,
    )  # fmt: skip

    lines = out.getvalue().splitlines()
    token = lines[lines.index("Its token (shown once, only a hash is stored):") + 1]
    partner = Partner.objects.get(name="Roaming")
    assert partner.state == Partner.State.REGISTERED
    assert [(r.country_code, r.party_id, r.role) for r in partner.roles.all()] == [
        ("DE", "ROM", "EMSP")
    ]
    issued = IssuedToken.objects.get(partner=partner)
    assert token not in (issued.token_hash, issued.hint)
    assert Client(HTTP_AUTHORIZATION=token_header(token)).get("/ocpi/versions").status_code == 200


def test_create_prints_a_curl_line_that_works_as_printed(db):
    out = StringIO()
    call_command(
        "ocpi_partner", "create", "--name", "Curl", "--country-code", "DE", "--party-id", "CUR",
        stdout=out,
    )  # fmt: skip

    lines = out.getvalue().splitlines()
    curl, option, header, url = shlex.split(lines[lines.index("Try it:") + 1])
    name, _, value = header.partition(": ")
    assert (curl, option, name) == ("curl", "-H", "Authorization")
    assert Client(HTTP_AUTHORIZATION=value).get(urlsplit(url).path).status_code == 200


def test_create_uses_the_given_token(db):
    call_command(
        "ocpi_partner", "create", "--name", "Given", "--country-code", "NL", "--party-id", "GIV",
        "--token", "my-own-token-123", stdout=StringIO(),
    )  # fmt: skip

    client = Client(HTTP_AUTHORIZATION=token_header("my-own-token-123"))
    assert client.get("/ocpi/versions").status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--country-code", "DEU", "--party-id", "ABC"], "--country-code"),
        (["--country-code", "DE", "--party-id", "ABCD"], "--party-id"),
        (["--country-code", "DE", "--party-id", "ABC", "--token", "has space"], "--token"),
    ],
)
def test_create_refuses_bad_input_and_saves_nothing(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("ocpi_partner", "create", "--name", "Bad", *args, stdout=StringIO())
    assert not Partner.objects.exists()


def test_create_refuses_a_duplicate_name(db):
    call_command(
        "ocpi_partner", "create", "--name", "Twice", "--country-code", "DE", "--party-id", "TWI",
        stdout=StringIO(),
    )  # fmt: skip
    with pytest.raises(CommandError, match="exists already"):
        call_command(
            "ocpi_partner", "create", "--name", "Twice", "--country-code", "DE",
            "--party-id", "TWO", stdout=StringIO(),
        )  # fmt: skip


def test_create_reads_the_token_from_an_environment_variable(db, monkeypatch):
    monkeypatch.setenv("PARTNER_TOKEN", "token-from-the-environment-1")

    call_command(
        "ocpi_partner", "create", "--name", "Env", "--country-code", "NL", "--party-id", "ENV",
        "--token-env", "PARTNER_TOKEN", stdout=StringIO(),
    )  # fmt: skip

    client = Client(HTTP_AUTHORIZATION=token_header("token-from-the-environment-1"))
    assert client.get("/ocpi/versions").status_code == 200


def test_create_reads_the_token_from_standard_input(db):
    call_command(
        "ocpi_partner", "create", "--name", "Stdin", "--country-code", "NL", "--party-id", "STD",
        "--token-stdin", stdin=StringIO("token-from-standard-input-1\n"), stdout=StringIO(),
    )  # fmt: skip

    client = Client(HTTP_AUTHORIZATION=token_header("token-from-standard-input-1"))
    assert client.get("/ocpi/versions").status_code == 200


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (["--token-env", "NOT_SET_ANYWHERE"], "NOT_SET_ANYWHERE is not set"),
        (["--token-stdin"], "the token is empty"),
        (["--token", "x", "--token-stdin"], "not allowed with argument"),
    ],
)
def test_create_refuses_a_missing_or_doubled_token_source(db, source, message):
    with pytest.raises(CommandError, match=message):
        call_command(
            "ocpi_partner", "create", "--name", "None", "--country-code", "NL",
            "--party-id", "NON", *source, stdin=StringIO(""), stdout=StringIO(),
        )  # fmt: skip
    assert not Partner.objects.exists()
