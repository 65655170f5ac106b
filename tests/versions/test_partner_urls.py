"""The partner URL rules (`versions.partner_urls`): schemes and addresses."""

import pytest

from versions.partner_urls import address_problem, scheme_problem, url_problem


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
        ("::ffff:8.8.8.8", None),  # IPv4-mapped: the connection goes to 8.8.8.8
        ("2002:808:808::1", None),  # 6to4 of 8.8.8.8
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.31.255.255", "a private address"),
        ("192.168.0.1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1%eth0", "a link-local address"),
        ("0.0.0.0", "an unspecified address"),  # noqa: S104 - an address we refuse to call
        ("::", "an unspecified address"),
        ("224.0.0.251", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("240.0.0.1", "a private address"),
        ("255.255.255.255", "a private address"),
        ("192.0.2.1", "a private address"),  # documentation range
        ("100.64.0.1", "a non-public address"),  # carrier-grade NAT
        ("::ffff:127.0.0.1", "leads to 127.0.0.1, a loopback address"),
        ("::ffff:169.254.169.254", "leads to 169.254.169.254, a link-local address"),
        ("2002:7f00:1::", "leads to 127.0.0.1, a loopback address"),  # 6to4
        ("64:ff9b::a00:1", "leads to 10.0.0.1, a private address"),  # NAT64
    ],
)
def test_only_public_unicast_addresses_are_called(address, problem):
    assert address_problem(address) == problem


@pytest.mark.parametrize(
    ("url", "http_allowed", "problem"),
    [
        ("https://emsp.example.com/ocpi/versions", False, None),
        ("HTTPS://emsp.example.com/ocpi/versions", False, None),
        ("http://emsp.example.com/ocpi/versions", True, None),
        (
            "http://emsp.example.com/ocpi/versions",
            False,
            "http:// URLs are not accepted, use https://",
        ),
        ("ftp://emsp.example.com/", True, "only https:// URLs are accepted"),
        ("javascript:alert(1)", True, "only https:// URLs are accepted"),
    ],
)
def test_only_https_unless_http_is_allowed(settings, url, http_allowed, problem):
    settings.OCPI_ALLOW_HTTP_PARTNER_URLS = http_allowed
    assert scheme_problem(url) == problem


def test_a_url_is_checked_before_it_is_stored_without_dns(settings):
    settings.OCPI_ALLOW_HTTP_PARTNER_URLS = False
    settings.OCPI_ALLOW_PRIVATE_PARTNER_URLS = False

    assert url_problem("https://emsp.example.com/ocpi/versions") is None
    assert url_problem("https://localhost/x") is None  # a name: checked when we connect
    assert url_problem("https://10.0.0.1/ocpi") == "10.0.0.1: a private address"
    assert url_problem("https://[::1]:8443/ocpi") == "::1: a loopback address"
    assert url_problem("http://8.8.8.8/") == "http:// URLs are not accepted, use https://"

    settings.OCPI_ALLOW_PRIVATE_PARTNER_URLS = True
    assert url_problem("https://10.0.0.1/ocpi") is None
