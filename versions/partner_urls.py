"""Which partner URLs we call: the guard against server-side request forgery.

A partner chooses the URLs we call (its versions URL in the credentials handshake, the
endpoints of its version details, hence every push). Without rules, a token-A holder could
make our servers call internal services. Two rules, each a setting:

- **Scheme**: only `https://` (`OCPI_ALLOW_HTTP_PARTNER_URLS`, on only for development and
  tests): tokens travel in the Authorization header of every call (OCPI 2.2.1, Transport and
  format, "Authorization header"), so never in clear text.
- **Address**: never a loopback, private, link-local, shared, multicast, unspecified or
  reserved address, also not when reached through an IPv4-mapped, 6to4 or NAT64 IPv6
  address (`OCPI_ALLOW_PRIVATE_PARTNER_URLS`, on only for development and tests).

Both default to on when `DEBUG` is on and off otherwise (settings.py). The address rule is
applied by the outbound client on the address it actually connects to, after resolving the
host name, so a name that resolves elsewhere on the second look (DNS rebinding) gains
nothing (`versions.client`). `url_problem` checks a URL before it is stored, without DNS.

The functions return a reason (for our log and the operator) or None; the caller decides
what the partner is told.
"""

import ipaddress
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# NAT64 (RFC 6052): the last 32 bits are an IPv4 address the gateway connects to.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def http_allowed() -> bool:
    return bool(settings.OCPI_ALLOW_HTTP_PARTNER_URLS)


def private_allowed() -> bool:
    return bool(settings.OCPI_ALLOW_PRIVATE_PARTNER_URLS)


def scheme_problem(url: str) -> str | None:
    """Why we do not call `url` because of its scheme, or None. Safe to tell the partner."""
    if url[:8].lower() == "https://":
        return None
    if url[:7].lower() == "http://":
        if http_allowed():
            return None
        return "http:// URLs are not accepted, use https://"
    return "only https:// URLs are accepted"


def url_problem(url: str) -> str | None:
    """Why we would not call `url` (scheme, or a host that is a forbidden IP literal), or
    None. Without DNS: a host name is checked when we connect."""
    problem = scheme_problem(url)
    if problem is not None or private_allowed():
        return problem
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return "not a valid URL"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: checked on the addresses it resolves to, when we connect
    problem = address_problem(host)
    return None if problem is None else f"{host}: {problem}"


@lru_cache(maxsize=1024)
def address_problem(address: str) -> str | None:
    """Why we do not connect to `address` (an IP address as getaddrinfo returns it), e.g.
    "a loopback address", or None.

    Does not look at the settings: the caller asks only when private addresses are not
    allowed. Cached, since a few addresses are met over and over.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope id is not our concern
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            kind = _forbidden_kind(embedded)
            if kind is not None:
                return f"leads to {embedded}, {_a(kind)} address"
            if ip.ipv4_mapped is not None:
                return None  # the connection goes to the IPv4 address, which is fine
    kind = _forbidden_kind(ip)
    return None if kind is None else f"{_a(kind)} address"


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _forbidden_kind(ip: IPAddress) -> str | None:
    for kind, forbidden in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if forbidden:
            return kind
    if not ip.is_global:
        return "non-public"  # e.g. 100.64.0.0/10, shared by carrier-grade NAT
    return None
