"""Login failure handling (等保 2.0 身份鉴别: 登录失败处理), on django-axes' database handler.

Failed passwords (and TOTP codes, cityops.accounts.otp) are counted within AXES_COOLOFF_TIME of
the latest counted failure, twice:

* per (username, source address): AXES_FAILURE_LIMIT failures (5) lock that account from that
  address — the lock a person trying passwords at one desk meets;
* per username, from every address together: CITYOPS_ACCOUNT_FAILURE_LIMIT failures (10) lock
  the account from everywhere — guessing spread over many addresses.

Never per address alone: one person's wrong passwords behind a NAT (a 100-seat service
center, a district's VPN) must not lock out everybody else behind it. Per-address abuse of
the login is braked by the request rate limit instead (cityops.common.ratelimit, scope
"login"), whose window is fixed and short.

A successful login clears that username's failures from that address only (axes'
AXES_RESET_ON_SUCCESS over AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]): signing in
to one's own account never wipes the count of another account, nor the failures an attacker
piled up against this account from elsewhere. Attempts refused during a lock are not counted
(AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT off), so a lock ends AXES_COOLOFF_TIME after
the failure that set it however often someone keeps trying.
"""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


def account_failure_limit() -> int:
    return int(settings.CITYOPS_ACCOUNT_FAILURE_LIMIT)


def failure_counts(request, credentials: dict | None = None) -> tuple[int, int]:
    """(failures of this username from this address, failures of this username from anywhere),
    within the cool-off window."""
    username = get_client_username(request, credentials)
    attempts = AccessAttempt.objects.filter(username=username)
    if settings.AXES_COOLOFF_TIME is not None:
        attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))

    def total(queryset) -> int:
        return queryset.aggregate(n=Sum("failures_since_start"))["n"] or 0

    return total(attempts.filter(ip_address=request.axes_ip_address)), total(attempts)


class LockoutHandler(AxesDatabaseHandler):
    """axes compares `get_failures` with AXES_FAILURE_LIMIT; an account over its own (higher)
    limit answers with at least AXES_FAILURE_LIMIT, so it is locked from every address."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        from_here, everywhere = failure_counts(request, credentials)
        if everywhere >= account_failure_limit():
            return max(from_here, get_failure_limit(request, credentials))
        return from_here
