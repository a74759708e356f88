"""Validate the hot-issue ranking on real citizens' messages with their support counts.

Data: ../shared/data/complaints/messages_with_votes.csv (4,278 messages to a city's online
问政 platform, 2017–2020, with 点赞 likes). The product's clustering (analytics/hotissues.py)
runs on subject + detail exactly as it runs on case title + description, without ever seeing
the likes; then we ask whether its top clusters gather the most-supported topics:

* likes share — the share of all likes held by the messages of the top-k clusters, against
  the same share when the likes are shuffled among the messages (a permutation test: the
  clusters keep their sizes, so "bigger clusters hold more messages" is accounted for);
* the same with log(1 + likes), which one message with 2,000 likes cannot dominate;
* Spearman ρ between a cluster's rank score and its summed likes over clusters of ≥ 2
  messages, against its permutation distribution;
* recall of the most-liked topics: how many of the 20 most-liked messages sit in a hot cluster
  (≥ 3 messages) and in a top-20 cluster.

    .venv/bin/python benchmarks/dashboard_hotissues.py [--csv PATH] [--permutations 1000] [--json]

With --json the last line of output is one JSON object. Message texts are never printed
beyond short subjects of the top clusters.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
CHINA = ZoneInfo("Asia/Shanghai")


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _when(raw: str) -> datetime | None:
    for fmt in ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(raw.strip(), fmt).replace(tzinfo=CHINA)
        except ValueError:
            continue
    return None


def evaluate(rows: list[dict], *, threshold: float | None = None, permutations: int = 1000, seed: int = 7, top_ks=(10, 20)) -> dict:
    import numpy as np
    from scipy.stats import spearmanr

    from cityops.analytics.hotissues import MIN_SIZE, SIMILARITY, Doc, cluster_docs, doc_text, rank

    started = time.monotonic()
    docs = [
        Doc(key=i, text=doc_text(r["subject"], r["detail"]), when=_when(r["time"]), reporter=r["user"])
        for i, r in enumerate(rows)
    ]
    threshold = SIMILARITY if threshold is None else threshold
    clusters = cluster_docs(docs, threshold=threshold, max_block=len(docs))
    seconds = time.monotonic() - started
    likes = np.array([int(r["likes"] or 0) for r in rows], dtype=float)
    logl = np.log1p(likes)
    ranked = rank(clusters, min_size=2)  # the product's order: reporters + growth, then size
    members = [np.array([d.key for d in c.members]) for c in ranked]
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(len(rows)) for _ in range(permutations)]

    def share_test(values: np.ndarray, k: int) -> dict:
        idx = np.concatenate(members[:k]) if members[:k] else np.array([], dtype=int)
        observed = values[idx].sum() / values.sum()
        null = np.array([values[p][idx].sum() / values.sum() for p in perms])
        return {
            "clusters": min(k, len(members)), "messages": len(idx), "share": round(float(observed), 4),
            "random_mean": round(float(null.mean()), 4), "random_p95": round(float(np.quantile(null, 0.95)), 4),
            "lift": round(float(observed / null.mean()), 2) if null.mean() else None,
            "p_value": round(float((np.sum(null >= observed) + 1) / (len(null) + 1)), 4),
        }

    multi = [m for m in members if len(m) >= 2]
    scores = [c.score for c in ranked if len(c.members) >= 2]

    def rho_of(values: np.ndarray) -> float:
        return float(spearmanr(scores, [values[m].sum() for m in multi]).statistic)

    rho = rho_of(likes)
    rho_null = np.array([rho_of(likes[p]) for p in perms[: min(300, permutations)]])
    order = np.argsort(-likes)[:20]
    where = {}
    for pos, c in enumerate(ranked):
        for d in c.members:
            where[d.key] = (pos + 1, len(c.members))
    hot_hits = sum(1 for i in order if where.get(int(i), (0, 1))[1] >= MIN_SIZE)
    top20_hits = sum(1 for i in order if 0 < where.get(int(i), (0, 1))[0] <= 20)
    return {
        "messages": len(rows), "total_likes": int(likes.sum()), "cluster_seconds": round(seconds, 1),
        "clusters_ge2": len(multi), "hot_clusters_ge3": sum(1 for m in members if len(m) >= MIN_SIZE),
        "similarity": threshold, "product_default": threshold == SIMILARITY,
        "top": [
            {"rank": i + 1, "size": len(c.members), "reporters": c.reporters, "likes": int(likes[members[i]].sum()),
             "subject": rows[c.medoid.key]["subject"][:24]}
            for i, c in enumerate(ranked[:20])
        ],
        "likes_share": {f"top{k}": share_test(likes, k) for k in top_ks},
        "log_likes_share": {f"top{k}": share_test(logl, k) for k in top_ks},
        "spearman": {"rho": round(rho, 3), "random_mean": round(float(rho_null.mean()), 3),
                     "random_p95": round(float(np.quantile(rho_null, 0.95)), 3),
                     "p_value": round(float((np.sum(rho_null >= rho) + 1) / (len(rho_null) + 1)), 4)},
        "most_liked_20": {"in_hot_cluster": hot_hits, "in_top20_cluster": top20_hits},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=None,
                        help="default: complaints/messages_with_votes.csv in CITYOPS_SHARED_DATA_DIR")
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument("--similarity", default="", help="comma-separated thresholds to compare (default: the product's)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")
    import django

    django.setup()
    from cityops.testing.shared_data import absent_message, shared_path

    args.csv = args.csv or shared_path("complaints", "messages_with_votes.csv")
    if not args.csv.exists():
        raise SystemExit(absent_message(args.csv))
    rows = load(args.csv)
    thresholds = [float(t) for t in args.similarity.split(",") if t.strip()] or [None]
    results = []
    for threshold in thresholds:
        result = evaluate(rows, threshold=threshold, permutations=args.permutations)
        report(result)
        results.append(result)
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results, ensure_ascii=False))


def report(result: dict) -> None:
    print(f"\n=== similarity threshold {result['similarity']}{' (product default)' if result['product_default'] else ''} ===")
    print(f"{result['messages']} messages, {result['total_likes']} likes; clustered in {result['cluster_seconds']} s: "
          f"{result['clusters_ge2']} clusters of ≥2, {result['hot_clusters_ge3']} of ≥3")
    print("\nrank size people likes  subject")
    for t in result["top"]:
        print(f"{t['rank']:4} {t['size']:4} {t['reporters']:6} {t['likes']:5}  {t['subject']}")
    for name in ("likes_share", "log_likes_share"):
        for k, v in result[name].items():
            print(f"{name:16} {k}: share {v['share']:.3f} vs random {v['random_mean']:.3f} (p95 {v['random_p95']:.3f}), "
                  f"lift {v['lift']}, p = {v['p_value']}")
    s = result["spearman"]
    print(f"spearman(score, likes) over clusters ≥2: ρ = {s['rho']} vs random {s['random_mean']} (p95 {s['random_p95']}), p = {s['p_value']}")
    m = result["most_liked_20"]
    print(f"20 most-liked messages: {m['in_hot_cluster']} in a hot cluster (≥3), {m['in_top20_cluster']} in a top-20 cluster")


if __name__ == "__main__":
    main()
