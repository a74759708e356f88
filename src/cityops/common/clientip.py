"""The client's IP address, for rate limits and login lockouts.

Behind the load balancer of docs/deploy.md every request reaches gunicorn from the balancer,
so REMOTE_ADDR is the balancer's address: counting per REMOTE_ADDR would put every citizen
in one bucket, and five wrong passwords from anyone would lock the balancer's address, that
is, everybody, out. When REMOTE_ADDR is one of `settings.CITYOPS_TRUSTED_PROXIES`
(addresses or networks), the client is the right-most X-Forwarded-For hop that is not
itself a trusted proxy. The header is never trusted otherwise: a client can write anything
into it, only the entries our own proxies appended are facts.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

# Where no address is known at all (a unix socket without a proxy header); one shared bucket.
UNKNOWN = "0.0.0.0"  # nosec B104  # a placeholder address; nothing binds to it

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _trusted() -> tuple[Network, ...]:
    return _networks(tuple(settings.CITYOPS_TRUSTED_PROXIES or ()))


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 203.0.113.7:51234
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The address to count a request against (see the module docstring)."""
    remote = _parse(request.META.get("REMOTE_ADDR") or "")
    if remote is None:
        return UNKNOWN
    trusted = _trusted()
    if not any(remote in net for net in trusted):
        return str(remote)
    client = remote
    for hop in reversed((request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",")):
        address = _parse(hop)
        if address is None:
            break  # garbage written by the client: the last proxy-attested hop stands
        client = address
        if not any(address in net for net in trusted):
            break
    return str(client)
