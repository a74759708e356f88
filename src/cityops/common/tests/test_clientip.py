"""Which address a request is counted against: REMOTE_ADDR, unless it is one of our own
proxies, in which case the right-most X-Forwarded-For hop that is not a proxy of ours."""

import pytest
from django.core.cache import cache
from django.test import RequestFactory, override_settings

from cityops.common import ratelimit
from cityops.common.clientip import UNKNOWN, client_ip

PROXIES = ["10.0.0.5", "10.1.0.0/16"]


def request(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_header_is_ignored():
    assert client_ip(request("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


@override_settings(CITYOPS_TRUSTED_PROXIES=PROXIES)
@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        ("10.0.0.5", "198.51.100.1", "198.51.100.1"),  # one balancer
        ("10.0.0.5", "198.51.100.1, 10.1.2.3", "198.51.100.1"),  # CDN node in our network, then balancer
        ("10.0.0.5", "1.1.1.1, 198.51.100.1", "198.51.100.1"),  # the client's forged left-most entry is ignored
        ("10.0.0.5", "evil, 198.51.100.1", "198.51.100.1"),
        ("10.0.0.5", "198.51.100.1:51234", "198.51.100.1"),
        ("10.0.0.5", "[2001:db8::7]:443", "2001:db8::7"),
        ("10.0.0.5", "", "10.0.0.5"),  # a proxy that sent no header: count the proxy
        ("10.0.0.5", "not-an-ip", "10.0.0.5"),
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # not our proxy: its header means nothing
    ],
)
def test_behind_trusted_proxies_the_right_most_foreign_hop_is_the_client(remote, forwarded, client):
    assert client_ip(request(remote, forwarded)) == client


def test_a_request_without_an_address_shares_one_placeholder():
    assert client_ip(request("")) == UNKNOWN


@override_settings(CITYOPS_TRUSTED_PROXIES=PROXIES, CITYOPS_RATE_LIMITS={"report": (1, 3600)})
def test_citizens_behind_the_balancer_get_their_own_rate_limit_buckets():
    cache.clear()
    first, second = request("10.0.0.5", "198.51.100.1"), request("10.0.0.5", "198.51.100.2")
    assert ratelimit.hit(first, "report")
    assert not ratelimit.hit(first, "report")
    assert ratelimit.hit(second, "report")
    cache.clear()
