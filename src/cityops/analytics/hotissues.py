"""Hot issues (热点诉求) and hot spots: clusters of similar cases in space and time.

Method (validated on real citizens' messages, see docs/benchmarks/dashboard.md):

1. Text of a case = title (or the start of the description) + the first 60 characters of the
   description. Vectors: TF-IDF of character 2–3-grams (never across punctuation) and of jieba
   words of two characters or more, concatenated and L2-normalised (characters catch variants
   of names, words weigh whole terms).
2. Similarity = cosine of the texts, plus a bonus when two cases lie in the same community or
   within 300 m of each other (the same 小区's heating failure is one issue, not thirty).
3. Average-linkage agglomerative clustering cut at similarity 0.20 (of 0.20 / 0.25 / 0.30 the
   one that kept whole topics together on the validation data), inside blocks of one
   大类 (a block holds at most `MAX_BLOCK` cases, the most recent), over the current window
   and the window before it.
4. A cluster is a hot issue when it has at least `MIN_SIZE` cases in the current window.
   Ranking: distinct reporters in the current window plus growth over the previous window
   (more people, and more than before, is hotter); ties by size.
5. The representative text is the medoid: the case most similar on average to the others.

The computation runs in the background (`hot_issues_refresh`, every few minutes) and pages
read the stored result (`HotIssueRun`).
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from cityops.common.pii import has_personal, mask_text

logger = logging.getLogger("cityops.analytics")

SIMILARITY = 0.20
SPACE_BONUS = 0.10  # same community, or within NEAR_METRES
NEAR_METRES = 300.0
MIN_SIZE = 3
MAX_BLOCK = 2500
WINDOW_DAYS = 7
KEEP_RUNS = 20
STALE_SECONDS = 600
ON_DEMAND_AFTER_SECONDS = 3600
TOO_BIG_KEY = "analytics:hotissues:window-too-big"
DETAIL_CHARS = 60

_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[\W_]+")  # punctuation and symbols: "了，" must not make two texts alike


@dataclass
class Doc:
    """One text to cluster, with what ranking and display need."""

    key: Any
    text: str
    when: datetime | None = None
    reporter: str = ""
    lon: float | None = None
    lat: float | None = None
    place: str = ""  # community code (same place → space bonus)
    block: str = ""  # documents of different blocks never cluster together
    current: bool = True  # in the current window (else in the previous one)
    extra: dict = field(default_factory=dict)


def doc_text(title: str, description: str, detail_chars: int = DETAIL_CHARS) -> str:
    title = _SPACES.sub("", title or "")
    detail = _SPACES.sub("", description or "")
    if not title:
        return detail[: 30 + detail_chars]
    return f"{title}。{detail[:detail_chars]}"


def _jieba():
    with warnings.catch_warnings():  # jieba 0.42 has invalid escape sequences in its regexes
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        import jieba
    jieba.setLogLevel(logging.WARNING)
    return jieba


def _tokenize(text: str) -> list[str]:
    """jieba words of two characters or more (single characters are mostly particles: 了, 的, 在)."""
    return [w for w in _jieba().lcut(text) if len(w.strip()) >= 2]


def _char_ngrams(text: str) -> list[str]:
    """Character 2- and 3-grams inside each run of letters (never across punctuation)."""
    grams = []
    for chunk in _NOT_WORD.split(text):
        for n in (2, 3):
            grams.extend(chunk[i : i + n] for i in range(len(chunk) - n + 1))
    return grams


def _quiet_jieba() -> None:
    _jieba()


def vectorize(texts: Sequence[str]):
    """L2-normalised TF-IDF rows (character 2–3-grams ⊕ jieba words of ≥ 2 characters)."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    _quiet_jieba()
    min_df = 2 if len(texts) >= 3 else 1
    max_df = 0.2 if len(texts) >= 50 else 1.0
    parts = []
    for kwargs in (
        {"analyzer": _char_ngrams},
        {"analyzer": _tokenize},
    ):
        vec = TfidfVectorizer(min_df=min_df, max_df=max_df, sublinear_tf=True, **kwargs)
        try:
            parts.append(vec.fit_transform(texts))
        except ValueError:  # empty vocabulary (tiny or degenerate input)
            continue
    if not parts:
        return None
    return normalize(hstack(parts).tocsr())


def _similarity(docs: Sequence[Doc], X) -> np.ndarray:
    S = (X @ X.T).toarray()
    n = len(docs)
    if n > 1 and any(d.place or d.lon is not None for d in docs):
        places = np.array([d.place or f"#{i}" for i, d in enumerate(docs)])
        same = places[:, None] == places[None, :]
        lon = np.array([d.lon if d.lon is not None else np.nan for d in docs])
        lat = np.array([d.lat if d.lat is not None else np.nan for d in docs])
        dx = (lon[:, None] - lon[None, :]) * 111_320 * np.cos(np.radians(np.nanmean(lat) if np.isfinite(lat).any() else 0))
        dy = (lat[:, None] - lat[None, :]) * 110_540
        with np.errstate(invalid="ignore"):
            near = np.hypot(dx, dy) <= NEAR_METRES
        # the bonus only helps texts that already share something
        S = np.where((same | near) & (S > 0.05), S + SPACE_BONUS, S)
    np.fill_diagonal(S, 1.0)
    return np.clip(S, 0.0, 1.0)


def _cluster_block(docs: Sequence[Doc], threshold: float) -> list[tuple[list[int], np.ndarray]]:
    """Clusters of one block as (member indexes, similarity sub-matrix)."""
    n = len(docs)
    if n == 1:
        return [([0], np.ones((1, 1)))]
    X = vectorize([d.text for d in docs])
    if X is None:
        return [([i], np.ones((1, 1))) for i in range(n)]
    S = _similarity(docs, X)
    from sklearn.cluster import AgglomerativeClustering

    labels = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=1 - threshold
    ).fit_predict(1 - S)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[label].append(i)
    return [(members, S[np.ix_(members, members)]) for members in groups.values()]


@dataclass
class Cluster:
    members: list[Doc]
    medoid: Doc
    cohesion: float  # mean similarity of the medoid to the others

    @property
    def current(self) -> list[Doc]:
        return [d for d in self.members if d.current]

    @property
    def previous(self) -> list[Doc]:
        return [d for d in self.members if not d.current]

    @property
    def size(self) -> int:
        return len(self.current)

    @property
    def reporters(self) -> int:
        """Distinct reporters in the current window (reports without a reporter count one each)."""
        named = {d.reporter for d in self.current if d.reporter}
        return len(named) + sum(1 for d in self.current if not d.reporter)

    @property
    def growth(self) -> int:
        return self.size - len(self.previous)

    @property
    def score(self) -> int:
        return self.reporters + max(0, self.growth)


def cluster_docs(docs: Sequence[Doc], *, threshold: float = SIMILARITY, max_block: int = MAX_BLOCK) -> list[Cluster]:
    """Cluster documents block by block; every document ends in exactly one cluster (most are singletons)."""
    blocks: dict[str, list[Doc]] = defaultdict(list)
    for d in docs:
        blocks[d.block].append(d)
    clusters: list[Cluster] = []
    for block_docs in blocks.values():
        if len(block_docs) > max_block:  # keep the most recent
            block_docs = sorted(block_docs, key=lambda d: d.when.timestamp() if d.when else 0.0, reverse=True)[:max_block]
        for members, S in _cluster_block(block_docs, threshold):
            member_docs = [block_docs[i] for i in members]
            if len(members) == 1:
                medoid_i, cohesion = 0, 1.0
            else:
                mean = (S.sum(axis=1) - 1) / (len(members) - 1)
                # the representative is a case of the current window when there is one
                eligible = [i for i, d in enumerate(member_docs) if d.current] or list(range(len(members)))
                medoid_i = max(eligible, key=lambda i: mean[i])
                cohesion = float(mean[medoid_i])
            clusters.append(Cluster(member_docs, member_docs[medoid_i], round(cohesion, 3)))
    return clusters


def rank(clusters: Sequence[Cluster], *, min_size: int = MIN_SIZE) -> list[Cluster]:
    hot = [c for c in clusters if c.size >= min_size]
    hot.sort(key=lambda c: (-c.score, -c.size, -c.cohesion))
    return hot


def keywords(cluster: Cluster, limit: int = 5) -> list[str]:
    """The words most of the cluster's texts share (jieba, two characters or more)."""
    _quiet_jieba()
    df: Counter = Counter()
    for d in cluster.members:
        # never a number or a piece of personal data (one person's ID number repeated in each report)
        df.update({w for w in _tokenize(d.text) if len(w) >= 2 and not w.isdigit() and not has_personal(w)})
    common = [w for w, n in df.most_common(limit * 3) if n >= max(2, len(cluster.members) // 3)]
    return common[:limit]


# ---------------------------------------------------------------- the product: cases → hot issues


def _case_docs(start: datetime, end: datetime, previous_start: datetime) -> list[Doc]:
    from cityops.analytics.refs import refs
    from cityops.cases.models import Case

    r = refs()
    rows = (
        Case.objects.filter(created_at__gte=previous_start, created_at__lt=end, master__isnull=True)
        .exclude(status="rejected")
        .order_by("-created_at")
        .values_list("number", "title", "description", "created_at", "reporter_phone", "lon", "lat",
                     "category_id", "community_id", "street_id")
    )
    docs = []
    for number, title, description, created, phone, lon, lat, category_id, community_id, street_id in rows.iterator(chunk_size=2000):
        cat = r.categories.get(category_id) if category_id else None
        community = r.communities.get(community_id) if community_id else None
        street = r.streets.get(street_id) if street_id else None
        docs.append(Doc(
            key=number, text=doc_text(title, description), when=created, reporter=phone or "", lon=lon, lat=lat,
            place=community.code if community else "", block=cat.top_code if cat else "", current=created >= start,
            extra={
                "category": cat.name if cat else "未分类", "category_code": cat.code if cat else "",
                "community": community.name if community else "", "street": street.name if street else "",
                "street_code": street.code if street else "",
                # what pages and reports show: personal data masked before the text is cut
                "shown": doc_text(mask_text(title or ""), mask_text(description or "")),
            },
        ))
    return docs


def _main_place(docs: Sequence[Doc]) -> dict[str, Any]:
    places = Counter(d.extra.get("community") or "" for d in docs)
    place, n = places.most_common(1)[0] if places else ("", 0)
    streets = Counter(d.extra.get("street") or "" for d in docs)
    street, _ = streets.most_common(1)[0] if streets else ("", 0)
    return {"community": place, "street": street, "share": round(n / len(docs), 2) if docs else 0.0}


def cluster_out(c: Cluster, rank_no: int) -> dict[str, Any]:
    med = c.medoid
    place = _main_place(c.current or c.members)
    current = sorted(c.current, key=lambda d: d.when or timezone.now(), reverse=True)
    categories = Counter(d.extra.get("category", "") for d in c.members)
    previous = len(c.previous)
    return {
        "rank": rank_no,
        "size": c.size,
        "previous": previous,
        "growth": c.growth,
        "growth_pct": round(c.growth * 100.0 / previous, 0) if previous else None,
        "reporters": c.reporters,
        "score": c.score,
        "cohesion": c.cohesion,
        "text": med.extra.get("shown") or mask_text(med.text),
        "representative": med.key,
        "representative_link": f"/cases/{med.key}/",
        "keywords": keywords(c),
        "category": categories.most_common(1)[0][0] if categories else "",
        "place": place,
        "hot_spot": place["share"] >= 0.6 and bool(place["community"]),
        "first": timezone.localtime(min(d.when for d in c.current)).strftime("%m-%d %H:%M") if c.current else "",
        "last": timezone.localtime(max(d.when for d in c.current)).strftime("%m-%d %H:%M") if c.current else "",
        "cases": [d.key for d in current[:50]],
    }


def hot_issues_compute(*, now: datetime | None = None, days: int = WINDOW_DAYS, limit: int = 20) -> dict[str, Any]:
    """Cluster the cases of the last `days` days (and the `days` before, for growth); the top `limit`."""
    now = now or timezone.now()
    start = now - timedelta(days=days)
    previous_start = start - timedelta(days=days)
    started = time.monotonic()
    docs = _case_docs(start, now, previous_start)
    clusters = rank(cluster_docs(docs))[:limit]
    return {
        "window_start": start, "window_end": now, "case_count": len(docs),
        "duration_ms": int((time.monotonic() - started) * 1000),
        "params": {"days": days, "similarity": SIMILARITY, "min_size": MIN_SIZE, "space_bonus": SPACE_BONUS,
                   "near_m": NEAR_METRES, "max_block": MAX_BLOCK},
        "clusters": [cluster_out(c, i + 1) for i, c in enumerate(clusters)],
    }


def hot_issues_refresh(*, now: datetime | None = None, days: int = WINDOW_DAYS) -> Any:
    """Compute and store a new run; keep the last few."""
    from cityops.analytics.models import HotIssueRun

    now = now or timezone.now()
    result = hot_issues_compute(now=now, days=days)
    with transaction.atomic():
        run = HotIssueRun.objects.create(computed_at=now, **result)
        old = list(HotIssueRun.objects.order_by("-computed_at").values_list("pk", flat=True)[KEEP_RUNS:])
        if old:
            HotIssueRun.objects.filter(pk__in=old).delete()
    return run


def hot_issues_latest(*, now: datetime | None = None, max_age: int = STALE_SECONDS, compute_if_small: int = 3000) -> dict[str, Any]:
    """The latest stored run, recomputed on the spot when it is stale and the window is small
    (large windows are left to the background refresh)."""
    from cityops.analytics.models import HotIssueRun
    from cityops.cases.models import Case

    now = now or timezone.now()
    run = HotIssueRun.objects.order_by("-computed_at").first()
    age = (now - run.computed_at).total_seconds() if run else None
    stale = age is None or age > max_age
    # A page computes on the spot only when there is nothing usable (no run, or one over an hour
    # old) and the window is small; otherwise it shows the stored run and the job refreshes it.
    if compute_if_small and (age is None or age > ON_DEMAND_AFTER_SECONDS) and not cache.get(TOO_BIG_KEY):
        recent = Case.objects.filter(created_at__gte=now - timedelta(days=2 * WINDOW_DAYS)).count()
        if recent > compute_if_small:
            cache.set(TOO_BIG_KEY, True, 600)  # a large window: leave it to the background job
        else:
            run = hot_issues_refresh(now=now)
            stale = False
    if run is None:
        return {"computed_at": None, "stale": True, "clusters": [], "case_count": 0,
                "message": "热点尚未计算，后台任务完成后显示。"}
    return {
        "computed_at": timezone.localtime(run.computed_at).isoformat(timespec="seconds"),
        "window_start": timezone.localtime(run.window_start).strftime("%Y-%m-%d %H:%M"),
        "window_end": timezone.localtime(run.window_end).strftime("%Y-%m-%d %H:%M"),
        "stale": stale, "case_count": run.case_count, "duration_ms": run.duration_ms,
        # runs stored before texts were masked are masked on the way out (masking is idempotent)
        "params": run.params, "clusters": [{**c, "text": mask_text(str(c.get("text") or ""))} for c in run.clusters],
        "message": "" if run.clusters else "近期没有形成热点（至少 3 件相似案件）。",
    }
