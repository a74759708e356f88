"""Training data, near-duplicate groups, cross-validation, threshold choice and metrics.

Pure functions over lists and arrays (no database): the commands, the retrain service and
the benchmark call them, and the tests feed them small synthetic sets.

The auto-dispatch threshold is chosen from *out-of-fold* predictions on the training data
(folds keep near-duplicates together, so a message and its re-post never sit on both sides),
never from the evaluation data.
"""

from __future__ import annotations

import csv
import json
import math
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from cityops.routing.pipeline import (
    DEFAULT_ALGORITHM,
    Router,
    build_estimator,
    fit_router,
    single_blas_thread,
)
from cityops.routing.text import char_text, is_garbage, normalize

MIN_ROWS = 20
MIN_PER_CLASS_FOR_CV = 2
CURVE_POINTS = 200
# A threshold needs this many out-of-fold predictions above it to be believed.
MIN_SUPPORT = 20


class TrainingDataError(ValueError):
    """The training data cannot train a model (missing columns, one class, too few rows…)."""


@dataclass
class Dataset:
    texts: list[str]
    labels: list[str]
    ids: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    source: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    def class_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(self.labels).items()))


# ---------------------------------------------------------------- loading


def read_csv(path: str | Path, *, label_map: dict[str, str] | None = None) -> Dataset:
    """Rows of a `text,label[,id]` CSV (UTF-8, header row). Rows without text or label are skipped
    and counted; labels are mapped through `label_map` (e.g. 城乡建设 → H01) when given."""
    path = Path(path)
    if not path.is_file():
        raise TrainingDataError(f"找不到文件：{path}")
    texts: list[str] = []
    labels: list[str] = []
    ids: list[str] = []
    skipped: Counter[str] = Counter()
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip().lower() for h in (reader.fieldnames or [])]
            if "text" not in header or "label" not in header:
                raise TrainingDataError(f"{path.name} 须有表头列 text 和 label（id 可选），实际为：{', '.join(header) or '空'}")
            reader.fieldnames = header
            for number, row in enumerate(reader, start=2):
                text = (row.get("text") or "").strip()
                label = (row.get("label") or "").strip()
                if not label:
                    skipped["missing_label"] += 1
                    continue
                if not text:
                    skipped["missing_text"] += 1
                    continue
                if label_map is not None:
                    label = label_map.get(label, label)
                texts.append(text)
                labels.append(label)
                ids.append((row.get("id") or "").strip() or f"row{number}")
    except UnicodeDecodeError as exc:
        raise TrainingDataError(f"{path.name} 不是 UTF-8 编码：{exc}") from None
    except csv.Error as exc:
        raise TrainingDataError(f"{path.name} 不是有效的 CSV：{exc}") from None
    return Dataset(texts, labels, ids, dict(skipped), path.name)


def check_trainable(data: Dataset, *, min_rows: int = MIN_ROWS) -> None:
    counts = Counter(data.labels)
    if len(data) < min_rows:
        raise TrainingDataError(f"训练样本太少：{len(data)} 条（至少 {min_rows} 条）。")
    if len(counts) < 2:
        only = next(iter(counts), "无")
        raise TrainingDataError(f"训练数据只有一个类别（{only}），无法训练分类器。")


# ---------------------------------------------------------------- near-duplicates

_SHINGLE = 5
_HASHES = 16
_BANDS = 8
_PRIME = 2_147_483_647


def near_duplicate_groups(texts: Sequence[str], *, similarity: float = 0.5, seed: int = 1) -> np.ndarray:
    """A group id per text; texts whose character 5-gram sets are similar (MinHash estimate of
    Jaccard ≥ `similarity`) share a group. LSH with 8 bands of 2 hashes finds candidates in
    linear time; groups are the connected components."""
    n = len(texts)
    rng = np.random.RandomState(seed)
    a = rng.randint(1, _PRIME - 1, size=_HASHES, dtype=np.int64)
    b = rng.randint(0, _PRIME - 1, size=_HASHES, dtype=np.int64)
    signatures = np.zeros((n, _HASHES), dtype=np.int64)
    for i, text in enumerate(texts):
        s = char_text(normalize(text))
        if len(s) < _SHINGLE:
            s = s.ljust(_SHINGLE, "\0")
        shingles = {s[j : j + _SHINGLE] for j in range(len(s) - _SHINGLE + 1)}
        h = np.fromiter((zlib.crc32(x.encode("utf-8")) for x in shingles), dtype=np.int64, count=len(shingles))
        signatures[i] = ((h[:, None] * a[None, :] + b[None, :]) % _PRIME).min(axis=0)

    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    rows = _HASHES // _BANDS
    for band in range(_BANDS):
        buckets: dict[tuple[int, ...], list[int]] = defaultdict(list)
        cols = signatures[:, band * rows : (band + 1) * rows]
        for i in range(n):
            buckets[tuple(cols[i])].append(i)
        for members in buckets.values():
            first = members[0]
            for other in members[1:]:
                if find(other) != find(first) and (signatures[first] == signatures[other]).mean() >= similarity:
                    parent[find(other)] = find(first)
    return np.array([find(i) for i in range(n)])


def _shingles(text: str) -> set[str]:
    s = char_text(normalize(text))
    return {s[j : j + _SHINGLE] for j in range(max(1, len(s) - _SHINGLE + 1))}


def _words_of(text: str) -> list[str]:
    """The words of a pre-segmented text (letters/digits, ≥ 2 characters); empty for raw text."""
    normalized = normalize(text)
    if normalized.count(" ") < 3:
        return []
    return [w for w in (char_text(part) for part in normalized.split(" ")) if len(w) >= 2]


def match_repeats(train_texts: Sequence[str], texts: Sequence[str], *, containment: float = 0.6, max_df: int = 50) -> list[int | None]:
    """For each of `texts`, the index of the training text it repeats, or None.

    Candidates: training texts sharing rare character 5-grams (inverted index, shingles seen
    in at most `max_df` training texts). A candidate is the same message when at least
    `containment` of its words (segmented training text) occur in the text, or, for raw
    training text, when that share of the smaller 5-gram set is shared. Words, not 5-grams:
    the public training file is segmented with stop-words removed, so the raw form of the
    same message shares only 20–50 % of its 5-grams but 90–100 % of its words; the second-best
    candidate of a raw message shares < 30 % of its words in most cases."""
    train_sets = [_shingles(t) for t in train_texts]
    train_words = [_words_of(t) for t in train_texts]
    index: dict[str, list[int]] = defaultdict(list)
    for i, shingles in enumerate(train_sets):
        for shingle in shingles:
            index[shingle].append(i)
    out: list[int | None] = []
    for text in texts:
        mine = _shingles(text)
        flat = char_text(normalize(text))
        votes: Counter[int] = Counter()
        for shingle in mine:
            posting = index.get(shingle)
            if posting is not None and len(posting) <= max_df:
                votes.update(posting)
        match = None
        for candidate, _ in votes.most_common(5):
            words = train_words[candidate]
            if len(words) >= 8:
                same = sum(1 for w in words if w in flat) >= containment * len(words)
            else:
                same = len(mine & train_sets[candidate]) >= containment * min(len(mine), len(train_sets[candidate]))
            if same:
                match = candidate
                break
        out.append(match)
    return out


def dedup_against(train_texts: Sequence[str], test: Dataset, *, containment: float = 0.6) -> tuple[Dataset, int]:
    """`test` without the rows that repeat a training text (see `match_repeats`)."""
    matches = match_repeats(train_texts, test.texts, containment=containment)
    keep = [i for i, m in enumerate(matches) if m is None]
    kept = Dataset([test.texts[i] for i in keep], [test.labels[i] for i in keep], [test.ids[i] for i in keep] if test.ids else [],
                   test.skipped, test.source)
    return kept, len(test) - len(keep)


# ---------------------------------------------------------------- cross-validation


def folds_for(labels: Sequence[str], groups: np.ndarray | None, n_folds: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    y = np.asarray(labels)
    smallest = min(Counter(labels).values())
    k = max(2, min(n_folds, smallest))
    if smallest < MIN_PER_CLASS_FOR_CV:
        raise TrainingDataError(f"每个类别至少需要 {MIN_PER_CLASS_FOR_CV} 条样本才能交叉验证选阈值。")
    dummy = np.zeros(len(y))
    if groups is not None and len(set(groups.tolist())) >= k:
        return list(StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(dummy, y, groups))
    return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(dummy, y))


def fast_svc(
    texts: Sequence[str], labels: Sequence[str], *, algorithm: str = DEFAULT_ALGORITHM, n_folds: int = 5,
    groups: np.ndarray | None = None, progress: Callable[[str], None] | None = None, final: bool = True,
    calibration_folds: int = 5,
) -> tuple[np.ndarray, list[str], Router | None, float]:
    """Out-of-fold probabilities and (with `final`) the fitted router, for the FAST_SVC algorithms.

    The character TF-IDF is fitted once on all texts (vocabulary and IDF use no labels), each
    fold trains one linear SVM (or, NB_STACKED, an SVM and one NB-SVM per class) on its rows, and a multinomial logistic regression maps the
    out-of-fold decision values to probabilities. The out-of-fold probabilities that choose the
    threshold come from calibrators that did not see those rows either (an inner 5-fold split
    of the decision values). Returns (proba, classes, router, final fit seconds)."""
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.svm import LinearSVC

    from cityops.routing.pipeline import (
        FAST_SVC,
        NB_STACKED,
        NBStackCalibrated,
        ScoreCalibrated,
        _char_tfidf,
        fit_nbstack_scores,
        normalize_many,
        svc_scores,
    )

    lo, hi = FAST_SVC[algorithm]
    stacked = algorithm in NB_STACKED
    say = progress or (lambda _m: None)
    y = np.asarray(labels)
    classes = sorted(set(labels))

    def fit_scorer(X_fit, y_fit):
        """(fitted parts, score function, the columns of `classes` its scores fill)."""
        if stacked:
            coef, intercept, seen = fit_nbstack_scores(X_fit, y_fit)
            at = np.searchsorted(classes, seen)
            return (coef, intercept, seen), (lambda Z: np.asarray(Z @ coef.T) + intercept), np.concatenate([at, at + len(classes)])
        svc = LinearSVC(C=0.5).fit(X_fit, y_fit)
        return svc, (lambda Z: svc_scores(svc, Z)), np.searchsorted(classes, svc.classes_)

    with single_blas_thread():
        started = time.perf_counter()
        vectorizer = _char_tfidf(lo, hi)
        X = vectorizer.fit_transform(normalize_many(texts))
        say(f"  特征：{X.shape[0]} × {X.shape[1]}（{time.perf_counter() - started:.1f} 秒）")
        scores = np.full((len(y), len(classes) * (2 if stacked else 1)), -10.0)
        for index, (train_idx, test_idx) in enumerate(folds_for(labels, groups, n_folds)):
            started = time.perf_counter()
            _, score, columns = fit_scorer(X[train_idx], y[train_idx])
            scores[np.ix_(test_idx, columns)] = score(X[test_idx])
            say(f"  第 {index + 1} 折：{time.perf_counter() - started:.1f} 秒")
        calibrator = LogisticRegression(C=10, max_iter=1000)
        inner = StratifiedKFold(max(2, min(calibration_folds, min(Counter(labels).values()))), shuffle=True, random_state=0)
        proba = cross_val_predict(calibrator, scores, y, cv=inner, method="predict_proba")
        router = None
        seconds = 0.0
        if final:
            started = time.perf_counter()
            fitted, _, _ = fit_scorer(X, y)
            calibrator = LogisticRegression(C=10, max_iter=1000).fit(scores, y)
            clf = NBStackCalibrated().set_fitted(*fitted, calibrator) if stacked else ScoreCalibrated().set_fitted(fitted, calibrator)
            pipeline = Pipeline([("normalize", FunctionTransformer(normalize_many)), ("features", vectorizer), ("clf", clf)])
            seconds = time.perf_counter() - started
            router = Router(pipeline, [str(c) for c in clf.classes_], algorithm,
                            {"sklearn": sklearn.__version__, "numpy": np.__version__})
    return proba, classes, router, seconds


def out_of_fold_proba(
    texts: Sequence[str], labels: Sequence[str], *, algorithm: str = DEFAULT_ALGORITHM, n_folds: int = 5,
    groups: np.ndarray | None = None, progress: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Probabilities for every training text from a model that did not see it (nor its near-duplicates)."""
    from cityops.routing.pipeline import FAST_SVC

    if algorithm in FAST_SVC:
        proba, classes, _, _ = fast_svc(texts, labels, algorithm=algorithm, n_folds=n_folds, groups=groups,
                                        progress=progress, final=False)
        return proba, classes
    y = np.asarray(labels)
    classes = sorted(set(labels))
    proba = np.zeros((len(y), len(classes)))
    texts = list(texts)
    for index, (train, test) in enumerate(folds_for(labels, groups, n_folds)):
        started = time.perf_counter()
        with single_blas_thread():
            estimator = build_estimator(algorithm).fit([texts[i] for i in train], y[train])
            columns = np.searchsorted(classes, estimator.classes_)
            proba[np.ix_(test, columns)] = estimator.predict_proba([texts[i] for i in test])
        if progress:
            progress(f"  第 {index + 1} 折：{time.perf_counter() - started:.1f} 秒")
    return proba, classes


# ---------------------------------------------------------------- threshold


def precision_curve(confidence: np.ndarray, correct: np.ndarray, points: int = CURVE_POINTS) -> list[dict[str, float]]:
    """(threshold, coverage, precision) for thresholds at the quantiles of `confidence`,
    highest threshold first; what `threshold_from_curve` reads."""
    order = np.argsort(-confidence, kind="stable")
    conf = confidence[order]
    hits = np.cumsum(correct[order])
    n = len(conf)
    if n == 0:
        return []
    picks = sorted({min(n - 1, round(q)) for q in np.linspace(0, n - 1, min(points, n))})
    curve = []
    for k in picks:
        # Everything at or above conf[k] (ties included) is dispatched at this threshold.
        last = int(np.searchsorted(-conf, -conf[k], side="right")) - 1
        covered = last + 1
        curve.append({
            "threshold": round(float(conf[k]), 6),
            "coverage": round(covered / n, 6),
            "precision": round(float(hits[last]) / covered, 6),
            "support": covered,
        })
    return curve


def wilson_lower(successes: float, total: float, z: float = 1.645) -> float:
    """One-sided 95 % lower confidence bound of a proportion."""
    if total <= 0:
        return 0.0
    p = successes / total
    denominator = 1 + z * z / total
    centre = p + z * z / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return (centre - margin) / denominator


def choose_threshold(
    confidence: np.ndarray, correct: np.ndarray, target: float, *, conservative: bool = True, min_support: int = MIN_SUPPORT,
) -> tuple[float, float, float]:
    """The lowest threshold whose out-of-fold precision reaches `target`.

    Among thresholds t, dispatching every case whose top probability is ≥ t has precision
    P(t) and coverage C(t). We take the largest coverage with P ≥ target, where with
    `conservative` P is the 95 % Wilson lower bound (a precision measured on 200 cases
    must be clearly above the target, one on 20,000 only just). Returns (threshold,
    coverage, precision); threshold 1.01 (never) when no threshold reaches the target.
    """
    confidence = np.asarray(confidence, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    n = len(confidence)
    if n == 0:
        return 1.01, 0.0, 0.0
    order = np.argsort(-confidence, kind="stable")
    conf = confidence[order]
    hits = np.cumsum(correct[order])
    best: tuple[float, float, float] = (1.01, 0.0, 0.0)
    k = 0
    while k < n:
        # Ties: a threshold admits all equal confidences at once.
        last = int(np.searchsorted(-conf, -conf[k], side="right")) - 1
        covered = last + 1
        precision = hits[last] / covered
        measured = wilson_lower(hits[last], covered) if conservative else precision
        if covered >= min_support and measured >= target:
            best = (float(conf[last]), covered / n, float(precision))
        k = last + 1
    return best


def threshold_from_curve(curve: list[dict[str, float]], target: float) -> float:
    """The lowest stored threshold whose precision (Wilson bound) reaches `target`; 1.01 if none."""
    best = 1.01
    for point in curve:
        if point.get("support", 0) >= MIN_SUPPORT and wilson_lower(point["precision"] * point["support"], point["support"]) >= target:
            best = min(best, point["threshold"])
    return best


# ---------------------------------------------------------------- metrics


def score(proba: np.ndarray, classes: Sequence[str], labels: Sequence[str], threshold: float | None = None,
          texts: Sequence[str] | None = None) -> dict:
    """accuracy, macro-F1, per-class F1, top-3 and (with a threshold) auto-dispatch coverage/precision.

    With `texts`, garbage texts are never counted as auto-dispatched (as in production)."""
    classes = list(classes)
    y = np.asarray(labels)
    index = {c: i for i, c in enumerate(classes)}
    pred = np.asarray(classes)[proba.argmax(axis=1)]
    top3_idx = np.argsort(-proba, axis=1)[:, :3]
    truth_idx = np.array([index.get(label, -1) for label in labels])
    top3 = float(np.mean((top3_idx == truth_idx[:, None]).any(axis=1))) if len(y) else 0.0
    label_set = sorted(set(labels) | set(pred.tolist()))
    per_class = f1_score(y, pred, labels=label_set, average=None, zero_division=0)
    out = {
        "n": len(y),
        "accuracy": round(float(accuracy_score(y, pred)), 6) if len(y) else 0.0,
        "macro_f1": round(float(f1_score(y, pred, average="macro", zero_division=0)), 6) if len(y) else 0.0,
        "per_class_f1": {c: round(float(f), 6) for c, f in zip(label_set, per_class, strict=True) if c in set(labels)},
        "top3": round(top3, 6),
    }
    if threshold is not None:
        confidence = proba.max(axis=1)
        auto = confidence >= threshold
        if texts is not None:
            auto &= ~np.array([is_garbage(t) for t in texts], dtype=bool)
        correct = pred == y
        out["threshold"] = round(float(threshold), 6)
        out["coverage"] = round(float(auto.mean()), 6) if len(y) else 0.0
        out["auto_precision"] = round(float(correct[auto].mean()), 6) if auto.any() else None
        out["auto_errors"] = int((auto & ~correct).sum())
    return out


def latency_ms(router: Router, texts: Sequence[str], *, samples: int = 500, seed: int = 0) -> dict[str, float]:
    """Single-item prediction latency (normalisation included), p50/p99 over `samples` texts."""
    rng = np.random.RandomState(seed)
    picks = [texts[i] for i in rng.randint(0, len(texts), size=min(samples, max(1, len(texts))))] if texts else ["测试"]
    for text in picks[:20]:  # warm caches (OpenCC, jieba, numpy)
        router.top(text)
    timings = []
    cpu = []
    for text in picks:
        started, started_cpu = time.perf_counter(), time.thread_time()
        router.top(text)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    # Wall time is what a user waits; CPU time is what the prediction costs on one core when
    # the machine is shared (benchmarks here run beside other jobs).
    return {"p50_ms": round(float(np.percentile(timings, 50)), 3), "p99_ms": round(float(np.percentile(timings, 99)), 3),
            "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 3), "cpu_p99_ms": round(float(np.percentile(cpu, 99)), 3),
            "samples": len(timings)}


# ---------------------------------------------------------------- training


@dataclass
class TrainResult:
    router: Router
    metrics: dict
    threshold: float
    target_precision: float


def train(
    data: Dataset, *, algorithm: str = DEFAULT_ALGORITHM, target_precision: float = 0.98, n_folds: int = 5,
    group_duplicates: bool = True, progress: Callable[[str], None] | None = None, calibration_folds: int = 5,
) -> TrainResult:
    """Cross-validate on `data` (for metrics and the threshold), then fit on all of it.

    `calibration_folds`: inner folds of the FAST_SVC calibrators' out-of-fold probabilities (each
    fold fits one multinomial logistic regression on the decision values; 2 for a quick model)."""
    check_trainable(data)
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    groups = near_duplicate_groups(data.texts) if group_duplicates else None
    grouping_s = time.perf_counter() - started
    if groups is not None:
        say(f"近似重复分组：{len(data)} 条 → {len(set(groups.tolist()))} 组（{grouping_s:.1f} 秒）")
    say(f"交叉验证（{n_folds} 折，算法 {algorithm}）…")
    cv_started = time.perf_counter()
    from cityops.routing.pipeline import FAST_SVC

    router = None
    if algorithm in FAST_SVC:
        proba, classes, router, fit_s = fast_svc(data.texts, data.labels, algorithm=algorithm, n_folds=n_folds,
                                                 groups=groups, progress=say, calibration_folds=calibration_folds)
    else:
        proba, classes = out_of_fold_proba(data.texts, data.labels, algorithm=algorithm, n_folds=n_folds, groups=groups, progress=say)
    cv_s = time.perf_counter() - cv_started
    y = np.asarray(data.labels)
    confidence = proba.max(axis=1)
    correct = np.asarray(classes)[proba.argmax(axis=1)] == y
    garbage = np.array([is_garbage(t) for t in data.texts], dtype=bool)
    threshold, coverage, precision = choose_threshold(confidence[~garbage], correct[~garbage], target_precision)
    metrics = score(proba, classes, data.labels, threshold, data.texts)
    if router is None:
        say("在全部训练数据上训练最终模型…")
        router, fit_s = fit_router(data.texts, data.labels, algorithm)
    metrics.update({
        "cv_folds": n_folds,
        "grouped_near_duplicates": bool(group_duplicates),
        "groups": len(set(groups.tolist())) if groups is not None else len(data),
        "target_precision": target_precision,
        "cv_coverage_at_threshold": round(coverage, 6),
        "cv_precision_at_threshold": round(precision, 6),
        "curve": precision_curve(confidence[~garbage], correct[~garbage]),
        "class_counts": data.class_counts(),
        "skipped_rows": data.skipped,
        "training_seconds": round(time.perf_counter() - started, 2),
        "cv_seconds": round(cv_s, 2),
        "fit_seconds": round(fit_s, 2),
        "versions": router.versions,
    })
    return TrainResult(router, metrics, threshold, target_precision)


def summary_line(metrics: dict) -> str:
    keys = ("accuracy", "macro_f1", "top3", "threshold", "coverage", "auto_precision")
    return json.dumps({k: metrics.get(k) for k in keys}, ensure_ascii=False)
