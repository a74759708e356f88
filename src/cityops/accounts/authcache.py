"""The roles and permissions of a token's user, kept per process (see `common.refcache`).

Every API call needs them and Django's backend re-reads them per request (three queries:
the user's own permissions, its groups' permissions, its group names). They change when an
administrator edits roles, which `signals.py` turns into an invalidation here and, through
the shared cache, in every other process within two seconds. Whether the user is active or a
superuser is not cached: that comes with the user row, which each request reads.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from cityops.common.refcache import ReferenceCache

authorisations = ReferenceCache("accounts.authorisations")
_backend = ModelBackend()


def _load(user) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    probe = type(user)(pk=user.pk, is_active=True)
    own = frozenset(_backend.get_user_permissions(probe))
    via_groups = frozenset(_backend.get_group_permissions(probe))
    roles = frozenset(user.groups.filter(role_key__isnull=False).values_list("role_key__code", flat=True))
    return own, via_groups, roles


def prime(user) -> None:
    """Fill the user instance's permission and role caches from this process's copy."""
    if user.pk is None or user.is_superuser:  # Django answers a superuser without the tables
        return
    own, via_groups, roles = authorisations.get(user.pk, lambda: _load(user))
    # The attribute names ModelBackend and User.role_codes look for.
    user._user_perm_cache = set(own)
    user._group_perm_cache = set(via_groups)
    user._perm_cache = own | via_groups
    user._role_codes = set(roles)
