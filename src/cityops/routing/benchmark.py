"""The routing benchmark: train on TRAIN only, evaluate on TEST (or nested cross-validation).

* `run_holdout(train, test)`: near-duplicates of training rows are removed from TEST; the
  threshold comes from cross-validation on TRAIN; TEST is scored once.
* `run_cv(data)`: k outer folds with near-duplicates kept together; in each, the threshold is
  chosen by an inner cross-validation on the outer training part only, and the held-out fold
  is scored with it. Reported figures are over all held-out predictions.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable

import numpy as np

from cityops.routing.pipeline import DEFAULT_ALGORITHM
from cityops.routing.text import is_garbage
from cityops.routing.training import (
    Dataset,
    choose_threshold,
    dedup_against,
    folds_for,
    latency_ms,
    match_repeats,
    near_duplicate_groups,
    out_of_fold_proba,
    score,
    train,
)

Say = Callable[[str], None]


def _machine() -> dict:
    import os

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(terse=True)}


def run_holdout(
    train_data: Dataset, test_data: Dataset, *, algorithm: str = DEFAULT_ALGORITHM, target_precision: float = 0.98,
    folds: int = 5, dedup: bool = True, progress: Say | None = None,
) -> dict:
    say = progress or (lambda _m: None)
    removed = 0
    if dedup:
        test_data, removed = dedup_against(train_data.texts, test_data)
        say(f"测试集去除与训练集近似重复的 {removed} 条，剩 {len(test_data)} 条。")
    started, started_cpu = time.perf_counter(), time.process_time()
    result = train(train_data, algorithm=algorithm, target_precision=target_precision, n_folds=folds, progress=say)
    training_seconds = time.perf_counter() - started
    training_cpu_seconds = time.process_time() - started_cpu
    proba = result.router.predict_proba(test_data.texts)
    # Test labels the model never saw become columns of zeros: they count as errors.
    classes = list(result.router.classes)
    out = score(proba, classes, test_data.labels, result.threshold, test_data.texts)
    out.update(latency_ms(result.router, test_data.texts))
    out.update({
        "mode": "holdout", "algorithm": algorithm, "train_n": len(train_data), "test_n": len(test_data),
        "test_removed_near_duplicates": removed, "target_precision": target_precision,
        "training_seconds": round(training_seconds, 2), "training_cpu_seconds": round(training_cpu_seconds, 2),
        "fit_seconds": result.metrics["fit_seconds"],
        "train_cv": {k: result.metrics[k] for k in ("accuracy", "macro_f1", "top3", "coverage", "auto_precision") if k in result.metrics},
        "machine": _machine(),
    })
    return out


def run_cv(
    data: Dataset, *, algorithm: str = DEFAULT_ALGORITHM, target_precision: float = 0.98, folds: int = 5,
    inner_folds: int = 3, raw: Dataset | None = None, progress: Say | None = None,
) -> dict:
    """Nested grouped CV. With `raw` (the same messages in another form, e.g. unsegmented), each
    raw row that repeats a held-out message is also scored by that fold's model: how a model
    trained on segmented text does on raw text of messages it has not seen."""
    say = progress or (lambda _m: None)
    groups = near_duplicate_groups(data.texts)
    say(f"近似重复分组：{len(data)} 条 → {len(set(groups.tolist()))} 组")
    twins: dict[int, list[int]] = {}
    if raw is not None:
        for raw_row, match in enumerate(match_repeats(data.texts, raw.texts)):
            if match is not None:
                twins.setdefault(match, []).append(raw_row)
        say(f"原始文本中与训练文本对应的 {sum(len(v) for v in twins.values())} 条")
    classes = sorted(set(data.labels))
    y = np.asarray(data.labels)
    proba = np.zeros((len(y), len(classes)))
    thresholds = np.zeros(len(y))
    raw_rows: list[int] = []
    raw_proba: list[np.ndarray] = []
    raw_thresholds: list[float] = []
    fit_times = []
    latencies = []
    for index, (tr, te) in enumerate(folds_for(data.labels, groups, folds)):
        tr_data = Dataset([data.texts[i] for i in tr], y[tr].tolist())
        started = time.perf_counter()
        result = train(tr_data, algorithm=algorithm, target_precision=target_precision, n_folds=inner_folds)
        seconds = time.perf_counter() - started
        router, threshold = result.router, result.threshold
        fit_times.append(seconds)
        columns = np.searchsorted(classes, router.classes)
        te_texts = [data.texts[i] for i in te]
        proba[np.ix_(te, columns)] = router.predict_proba(te_texts)
        thresholds[te] = threshold
        mine = [r for i in te for r in twins.get(int(i), [])]
        if mine:
            block = np.zeros((len(mine), len(classes)))
            block[:, columns] = router.predict_proba([raw.texts[r] for r in mine])
            raw_rows += mine
            raw_proba.append(block)
            raw_thresholds += [threshold] * len(mine)
        if index == 0:
            latencies.append(latency_ms(router, [raw.texts[r] for r in mine] if mine else te_texts))
        say(f"  外层第 {index + 1} 折：阈值 {threshold:.4f}，训练（含内层交叉验证）{seconds:.1f} 秒")
    out = score(proba, classes, data.labels)
    if raw_rows:
        raw_p = np.vstack(raw_proba)
        raw_labels = [raw.labels[r] for r in raw_rows]
        raw_score = score(raw_p, classes, raw_labels)
        raw_auto = (raw_p.max(axis=1) >= np.asarray(raw_thresholds)) & ~np.array([is_garbage(raw.texts[r]) for r in raw_rows])
        raw_correct = np.asarray(classes)[raw_p.argmax(axis=1)] == np.asarray(raw_labels)
        raw_score["coverage"] = round(float(raw_auto.mean()), 6)
        raw_score["auto_precision"] = round(float(raw_correct[raw_auto].mean()), 6) if raw_auto.any() else None
        out["raw_of_held_out"] = raw_score
    confidence = proba.max(axis=1)
    auto = (confidence >= thresholds) & ~np.array([is_garbage(t) for t in data.texts], dtype=bool)
    correct = np.asarray(classes)[proba.argmax(axis=1)] == y
    out.update({
        "mode": "cv", "algorithm": algorithm, "folds": folds, "inner_folds": inner_folds, "groups": len(set(groups.tolist())),
        "target_precision": target_precision,
        "threshold": round(float(np.mean(sorted(set(thresholds.tolist())))), 6),
        "thresholds": sorted({round(float(t), 6) for t in thresholds.tolist()}),
        "coverage": round(float(auto.mean()), 6),
        "auto_precision": round(float(correct[auto].mean()), 6) if auto.any() else None,
        "auto_errors": int((auto & ~correct).sum()),
        "training_seconds": round(float(np.mean(fit_times)), 2),
        **latencies[0],
        "machine": _machine(),
    })
    return out


def compare_algorithms(data: Dataset, algorithms: list[str], *, folds: int = 5, target_precision: float = 0.98,
                       progress: Say | None = None) -> list[dict]:
    """One grouped k-fold CV per algorithm on the same folds (the comparison table of docs/benchmarks)."""
    say = progress or (lambda _m: None)
    groups = near_duplicate_groups(data.texts)
    y = np.asarray(data.labels)
    rows = []
    for algorithm in algorithms:
        started = time.perf_counter()
        proba, classes = out_of_fold_proba(data.texts, data.labels, algorithm=algorithm, n_folds=folds, groups=groups)
        seconds = time.perf_counter() - started
        correct = np.asarray(classes)[proba.argmax(axis=1)] == y
        threshold, coverage, precision = choose_threshold(proba.max(axis=1), correct, target_precision, conservative=False)
        row = score(proba, classes, data.labels)
        row.update({"algorithm": algorithm, "cv_seconds": round(seconds, 1), "coverage_at_target": round(coverage, 4),
                    "precision_at_target": round(precision, 4), "threshold": round(threshold, 4)})
        rows.append(row)
        say(f"{algorithm}: acc {row['accuracy']:.4f} macro-F1 {row['macro_f1']:.4f} top3 {row['top3']:.4f} "
            f"覆盖率@{target_precision:.0%} {coverage:.3f}（{seconds:.0f} 秒）")
    return rows
