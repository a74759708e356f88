"""Keep in-memory caches of reference data honest when rows change."""

from __future__ import annotations

from typing import Any

from django.core.signals import setting_changed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from cityops.catalog import selectors, workcal
from cityops.catalog.models import CalendarOverride, Category, TimeLimit


@receiver([post_save, post_delete], sender=CalendarOverride, dispatch_uid="catalog_calendar_override_changed")
def calendar_override_changed(sender: type, using: str, **kwargs: Any) -> None:
    workcal.overrides_changed(using=using)


@receiver([post_save, post_delete], sender=Category, dispatch_uid="catalog_category_changed")
def category_changed(sender: type, **kwargs: Any) -> None:
    selectors.suggestion_index_changed()
    selectors.category_rows.invalidate()


@receiver([post_save, post_delete], sender=TimeLimit, dispatch_uid="catalog_time_limit_changed")
def time_limit_changed(sender: type, **kwargs: Any) -> None:
    selectors.stage_limit_rows.invalidate()


@receiver(setting_changed, dispatch_uid="catalog_office_hours_changed")
def office_hours_setting_changed(setting: str, **kwargs: Any) -> None:
    # override_settings in tests swaps the list object, which office_hours() notices by itself;
    # this covers in-place edits of the same object.
    if setting == "CITYOPS_OFFICE_HOURS":
        workcal.clear_cache()
