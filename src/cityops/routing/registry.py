"""Model artifacts: save a trained router as a new version, activate, roll back, load the active one.

The active router is cached in the process (a `common.refcache.ReferenceCache`) under the
identity of its row (pk, version, activation time). Each use checks that identity with one
indexed query, so an activation in another process (admin, `cityops routing activate`) is picked up at the next
prediction and a rollback never leaves a stale model serving.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from cityops.common.refcache import ANY, KEEP, ReferenceCache
from cityops.routing.models import RoutingModel

if TYPE_CHECKING:  # scikit-learn and joblib take seconds to import: only when a model is used
    from cityops.routing.pipeline import Router
    from cityops.routing.training import TrainResult


class ModelNotFound(LookupError):
    pass


def dump_router(router: Router) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(router, buffer, compress=3)
    return buffer.getvalue()


def load_router(blob: bytes | memoryview) -> Router:
    # Artifacts are written only by this module from models trained here (admins and commands);
    # unpickling is trusted the same way as the code itself.
    import joblib

    return joblib.load(io.BytesIO(bytes(blob)))


def model_save(
    result: TrainResult, *, source: str = "", actor=None, activate: bool = False, note: str = "",
) -> RoutingModel:
    """Store a trained router as the next version (inactive unless `activate`)."""
    blob = dump_router(result.router)
    metrics = dict(result.metrics)
    for attempt in range(3):
        try:
            with transaction.atomic():
                version = (RoutingModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
                model = RoutingModel.objects.create(
                    version=version, created_by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
                    algorithm=result.router.algorithm, source=source[:200], training_size=int(metrics.get("n", 0)),
                    classes=list(result.router.classes), metrics=metrics, threshold=float(result.threshold),
                    target_precision=float(result.target_precision), artifact=blob, artifact_size=len(blob), note=note[:200],
                )
            break
        except IntegrityError:
            if attempt == 2:
                raise
    if activate:
        model = model_activate(model.version)
    return model


def model_activate(version: int, *, actor=None, request=None) -> RoutingModel:
    """Make `version` the one active model (the previous one stays stored for rollback).

    A configuration change: recorded in the audit trail with `actor` (or "系统")."""
    from cityops.audit.models import AuditAction
    from cityops.audit.services import audit_record

    with transaction.atomic():
        target = RoutingModel.objects.select_for_update().filter(version=version).defer("artifact").first()
        if target is None:
            raise ModelNotFound(f"模型版本 v{version} 不存在。")
        now = timezone.now()
        previous = list(RoutingModel.objects.filter(active=True).exclude(pk=target.pk).values_list("version", flat=True))
        # Deactivate first: the partial unique index allows one active row at any moment.
        RoutingModel.objects.filter(active=True).exclude(pk=target.pk).update(active=False)
        RoutingModel.objects.filter(pk=target.pk).update(active=True, activated_at=now)
        audit_record(
            action=AuditAction.CONFIG_CHANGE, actor=actor, actor_label="" if actor or request else "系统",
            request=request, target=f"routing.routingmodel:v{version}",
            details={"op": "activate", "version": version, "previous": previous},
        )
    clear_cache()
    return RoutingModel.objects.defer("artifact").get(pk=target.pk)


def model_rollback(*, actor=None, request=None) -> RoutingModel:
    """Re-activate the model that was active before the current one."""
    current = RoutingModel.objects.filter(active=True).defer("artifact").first()
    previous = (
        RoutingModel.objects.filter(active=False, activated_at__isnull=False)
        .exclude(pk=current.pk if current else None)
        .order_by("-activated_at", "-version")
        .defer("artifact")
        .first()
    )
    if previous is None:
        raise ModelNotFound("没有可回滚的上一版本模型。")
    return model_activate(previous.version, actor=actor, request=request)


# ---------------------------------------------------------------- the active model, cached


@dataclass(frozen=True)
class LoadedModel:
    pk: int
    version: int
    router: Router
    threshold: float
    target_precision: float
    curve: tuple[tuple[float, float, float, int], ...]

    def threshold_for(self, target_precision: float | None) -> float:
        from cityops.routing.training import threshold_from_curve

        if target_precision is None or abs(target_precision - self.target_precision) < 1e-9:
            return self.threshold
        points = [{"threshold": t, "coverage": c, "precision": p, "support": s} for t, c, p, s in self.curve]
        return threshold_from_curve(points, target_precision)


def _load(pk: int) -> LoadedModel | None:
    record = RoutingModel.objects.filter(pk=pk).first()
    if record is None:
        return None
    curve = tuple(
        (p["threshold"], p["coverage"], p["precision"], int(p.get("support", 0)))
        for p in (record.metrics or {}).get("curve", [])
    )
    return LoadedModel(
        pk=record.pk, version=record.version, router=load_router(record.artifact), threshold=record.threshold,
        target_precision=record.target_precision, curve=curve,
    )


# Keyed by the identity of the active row, read from the database on every call: a key that
# matches is the committed (or this transaction's) active model, so whatever was read is kept
# (ANY); one model at a time, unpickled by one thread at a time.
_models = ReferenceCache("routing.active_model", max_entries=1, transactions=ANY, outage=KEEP, serialize_loads=True)


def clear_cache() -> None:
    """Forget the loaded model in this process (the others notice by the row's identity)."""
    _models.clear()


def active_model() -> LoadedModel | None:
    """The active router, loaded once per activation (one small query per call to notice a change)."""
    row = RoutingModel.objects.filter(active=True).values_list("pk", "version", "activated_at", "created_at").first()
    if row is None:
        return None
    return _models.get(tuple(row), lambda: _load(row[0]), keep_none=False)
