"""The `cityops` console command: one front door to every project command.

`cityops demo`, `cityops serve`, `cityops migrate`, `cityops geo import FILE --level street` …
Multi-word commands map onto Django management commands joined with underscores
(`cityops geo import` → `manage.py geo_import`).

Every command starts in a second or two: nothing heavy (scikit-learn, jieba, openpyxl, the
API's schemas …) is imported to start Django, only where it is used
(`cityops.web.tests.test_startup` keeps it so).
"""

from __future__ import annotations

import os
import sys

# Two-word commands whose first word is a group.
GROUPS = {"geo", "catalog", "calendar", "routing", "import", "export", "apikey", "audit", "privacy", "report"}


def translate(argv: list[str]) -> list[str]:
    if not argv:
        return ["help"]
    head, *rest = argv
    if head in GROUPS and rest and not rest[0].startswith("-"):
        return [f"{head}_{rest[0]}", *rest[1:]]
    return argv


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018  (loads the settings: a bad environment value stops here)
    except ImproperlyConfigured as exc:
        sys.exit(f"cityops: configuration error: {exc}")

    args = translate(list(sys.argv[1:] if argv is None else argv))
    if args[0] == "runserver" and not any(not a.startswith("-") for a in args[1:]):
        args.append(f"127.0.0.1:{os.environ.get('PORT', '8000')}")
    execute_from_command_line(["cityops", *args])


if __name__ == "__main__":
    main()
