"""Listeners on the case lifecycle: keep the duplicate index, auto-dispatch registered cases.

Both run after the case's transaction committed; neither may ever break the action that
triggered it, so failures are logged and swallowed.
"""

from __future__ import annotations

import logging

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from cityops.cases.signals import case_events_committed
from cityops.cases.states import Status
from cityops.routing import duplicates, registry, services
from cityops.routing.models import RoutingModel

logger = logging.getLogger(__name__)


@receiver(case_events_committed, dispatch_uid="routing.on_case_events")
def on_case_events(sender, items, **kwargs) -> None:
    try:
        duplicates.index_cases([case for case, _ in items])
    except Exception:
        logger.exception("duplicate index update failed for %d case(s)", len(items))
    for case, event in items:
        # 立案 (and a case that arrives already registered): the one moment the router may dispatch.
        if event.to_status == Status.REGISTERED and case.status == Status.REGISTERED:
            try:
                services.auto_dispatch(case)
            except Exception:
                logger.exception("auto-dispatch failed for %s", getattr(case, "number", case))


@receiver([post_save, post_delete], sender=RoutingModel, dispatch_uid="routing.model_changed")
def on_model_changed(sender, **kwargs) -> None:
    registry.clear_cache()
