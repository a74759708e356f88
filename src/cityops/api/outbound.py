"""Outbound calls to other systems (webhooks): who may subscribe, and where a call may go.

* A subscription belongs to a service account, never to a person: an active account of role
  `system` that cannot sign in (no usable password), is not staff, holds no 三员 role and is
  marked `User.is_service_account` (made by `api.keys.service_account_create`).
* A target URL must name a host on `CITYOPS_WEBHOOK_ALLOWED_HOSTS` (exact names, `*.suffix`
  for subdomains, IP addresses or networks; empty: nothing is allowed), and use https unless
  `CITYOPS_WEBHOOK_REQUIRE_HTTPS` is off (development only). No user:password in the URL.
* At delivery the host is resolved once and every address it resolves to is checked: an
  address that is not public (private, loopback, link-local and cloud metadata, shared,
  reserved, multicast) is refused unless an IP/network entry of the allow-list covers it.
  The connection then goes to exactly the address that was checked (TLS still verifies the
  certificate for the host name), so a DNS answer that changes between check and connect
  (rebinding) cannot reach an internal address. Redirects are answers, never followed.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from cityops.accounts import roles


class TargetRefused(Exception):
    """A webhook target that may not be called; `message` is for people (zh-hans), `code` for logs/tests."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# ---------------------------------------------------------------- subscribers


def subscriber_problem(account) -> str | None:
    """Why `account` may not hold a webhook subscription (Chinese), or None if it may."""
    if account is None:
        return "请选择服务账号。"
    if not account.is_active:
        return "服务账号已停用。"
    if account.is_superuser or account.is_staff:
        return "Webhook 订阅只能绑定外部系统的服务账号，不能绑定管理员账号。"
    if account.has_role(*roles.ADMIN_ROLES):
        return "Webhook 订阅不能绑定三员（系统/安全/审计管理员）账号。"
    if not account.has_role(roles.SYSTEM):
        return "Webhook 订阅只能绑定角色为“外部系统”的服务账号，不能绑定工作人员账号。"
    if account.has_usable_password():
        return "该账号可用密码登录，属于个人账号；Webhook 订阅只能绑定不能登录的服务账号。"
    # `User.is_service_account` marks the accounts the key service made (accounts, issue 14):
    # a person's account stripped of its password is still no service account.
    if getattr(account, "is_service_account", True) is False:
        return "该账号不是服务账号（只能绑定由 API 密钥服务创建的服务账号）。"
    return None


def is_service_account(account) -> bool:
    return subscriber_problem(account) is None


# ---------------------------------------------------------------- targets


def allowed_hosts() -> list[str]:
    return [h.strip().lower().rstrip(".") for h in settings.CITYOPS_WEBHOOK_ALLOWED_HOSTS if h.strip()]


def require_https() -> bool:
    return bool(settings.CITYOPS_WEBHOOK_REQUIRE_HTTPS)


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return None


def _networks(entries: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    nets = []
    for entry in entries:
        try:
            nets.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            continue
    return nets


def host_listed(host: str, entries: list[str] | None = None) -> bool:
    entries = allowed_hosts() if entries is None else entries
    host = host.lower().rstrip(".")
    address = _ip(host)
    if address is not None:
        return any(_canonical(address) in net for net in _networks(entries))
    for entry in entries:
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and host != entry[2:]:
                return True
        elif host == entry:
            return True
    return False


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent


def check_url(url: str) -> Target:
    """The parts of an allowed target URL; TargetRefused otherwise (no network access here)."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        raise TargetRefused("推送地址格式不正确。", "malformed") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TargetRefused("推送地址须为 https 地址。", "scheme")
    if scheme == "http" and require_https():
        raise TargetRefused("推送地址须使用 https（CITYOPS_WEBHOOK_REQUIRE_HTTPS）。", "https_required")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("推送地址不能包含用户名或密码。", "userinfo")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise TargetRefused("推送地址缺少主机名。", "no_host")
    if not host_listed(host):
        raise TargetRefused(
            f"推送地址的主机 {host} 不在允许列表中（CITYOPS_WEBHOOK_ALLOWED_HOSTS），请联系系统管理员配置。", "host_not_allowed",
        )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80), path=path)


def _canonical(address):
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped if mapped is not None else address


METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
                                ipaddress.ip_address("100.100.100.200")})


def address_problem(address) -> str | None:
    """Why an address a host resolved to may not be called (unless listed), or None."""
    address = _canonical(address)
    if address in METADATA_ADDRESSES:
        return "云平台元数据地址"
    if address.is_loopback:
        return "本机回环地址"
    if address.is_link_local:
        return "链路本地地址"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "保留地址"
    if address.is_private or not address.is_global:
        return "内网地址"
    return None


def resolve(target: Target) -> str:
    """The one address to connect to: every address the host resolves to must be allowed."""
    literal = _ip(target.host)
    if literal is not None:
        candidates = [literal]
    else:
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise TargetRefused(f"无法解析推送地址的主机 {target.host}。", "unresolvable") from exc
        candidates = []
        for info in infos:
            address = _ip(info[4][0].split("%")[0])
            if address is not None and address not in candidates:
                candidates.append(address)
    if not candidates:
        raise TargetRefused(f"无法解析推送地址的主机 {target.host}。", "unresolvable")
    listed = _networks(allowed_hosts())
    for address in candidates:
        problem = address_problem(address)
        if problem and not any(_canonical(address) in net for net in listed):
            raise TargetRefused(
                f"推送地址 {target.host} 解析到{problem} {address}，已拒绝（如确需推送到内网，请将该地址或网段加入 "
                "CITYOPS_WEBHOOK_ALLOWED_HOSTS）。", "internal_address",
            )
    return str(candidates[0])


# ---------------------------------------------------------------- the call


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class Reply:
    status: int
    body: bytes


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, keep: int) -> Reply:
    """POST `body` to an allowed target, connecting to the checked address; the reply's status
    and at most `keep` bytes of its body. TargetRefused before any connection is made;
    OSError/HTTPException for network failures. A 3xx is returned as it is (not followed)."""
    target = check_url(url)
    address = resolve(target)
    kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = kind(target.host, target.port, address, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        return Reply(status=response.status, body=response.read(keep))
    finally:
        connection.close()
