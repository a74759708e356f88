"""System checks of the authentication settings (`manage.py check --deploy`).

A deployment must require the TOTP second factor for the three administrator roles (三员:
sysadmin, secadmin, auditor): `check --deploy` fails otherwise, unless the explicit waiver
CITYOPS_ALLOW_NO_OTP=1 is set (then it warns). Leaders are expected too (a warning), and an
unknown role name — a typo that would silently drop a role — is an error.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from cityops.accounts import roles

ADMIN_OTP_ROLES = (roles.SYSADMIN, roles.SECADMIN, roles.AUDITOR)


@register(Tags.security, deploy=True)
def check_second_factor_roles(app_configs=None, **kwargs):
    required = list(settings.OTP_REQUIRED_ROLES or [])
    waived = bool(settings.CITYOPS_ALLOW_NO_OTP)
    issues = []
    unknown = sorted(set(required) - set(roles.ROLES))
    if unknown:
        issues.append(Error(
            f"OTP_REQUIRED_ROLES names unknown roles: {', '.join(unknown)}.",
            hint=f"Known roles: {', '.join(roles.ROLES)}.", id="cityops.accounts.E002",
        ))
    missing = [code for code in ADMIN_OTP_ROLES if code not in required]
    if missing:
        message = f"OTP_REQUIRED_ROLES lacks the administrator roles {', '.join(missing)}: they sign in with the password alone."
        hint = "Set OTP_REQUIRED_ROLES=sysadmin,secadmin,auditor,leader (the production default)."
        if waived:
            issues.append(Warning(message, hint=hint + " The waiver CITYOPS_ALLOW_NO_OTP is set.", id="cityops.accounts.W002"))
        else:
            issues.append(Error(message, hint=hint + " CITYOPS_ALLOW_NO_OTP=1 waives it explicitly.", id="cityops.accounts.E001"))
    if roles.LEADER not in required and not waived:
        issues.append(Warning(
            "OTP_REQUIRED_ROLES lacks leader: leaders see every case and the big screen with the password alone.",
            hint="Add leader to OTP_REQUIRED_ROLES.", id="cityops.accounts.W001",
        ))
    return issues
