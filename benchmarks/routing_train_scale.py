"""Benchmark training time of the router on N cases (default 100,000).

The public labeled set has 7,368 messages; it is replicated and perturbed to N (each copy
drops ~15 % of its words at random and swaps a few neighbours, so copies are near- but not
exact duplicates), then the full production training path runs: near-duplicate grouping,
k-fold cross-validation for the auto-dispatch threshold, final fit. Without the data
(../shared/data/complaints/labeled_tokenized.csv) synthetic texts are used.

    .venv/bin/python benchmarks/routing_train_scale.py [--n 100000] [--folds 5] [--algorithm char13_svc_oof] [--json]

With --json the last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


def _base(rng: random.Random, path: Path) -> tuple[list[str], list[str]]:
    if path.is_file():
        with path.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return [r["text"] for r in rows], [r["label"] for r in rows]
    vocab = {c: [f"{c}词{i}" for i in range(40)] for c in "ABCDEFG"}
    texts, labels = [], []
    for c, words in vocab.items():
        for _ in range(1000):
            texts.append(" ".join(rng.choices(words, k=60)))
            labels.append(c)
    return texts, labels


def _perturb(text: str, rng: random.Random) -> str:
    words = [w for w in text.split() if rng.random() > 0.15] or text.split()
    for _ in range(3):
        if len(words) > 2:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--algorithm", default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--csv", type=Path, default=None,
                        help="labeled CSV to replicate (default: complaints/labeled_tokenized.csv in CITYOPS_SHARED_DATA_DIR)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from cityops.testing.shared_data import shared_path

    args.csv = args.csv or shared_path("complaints", "labeled_tokenized.csv")
    from cityops.routing.pipeline import DEFAULT_ALGORITHM
    from cityops.routing.training import Dataset, train

    algorithm = args.algorithm or DEFAULT_ALGORITHM
    rng = random.Random(args.seed)
    base_texts, base_labels = _base(rng, args.csv)
    source = str(args.csv) if args.csv.is_file() else "synthetic"
    texts, labels = [], []
    while len(texts) < args.n:
        for text, label in zip(base_texts, base_labels, strict=True):
            texts.append(text if len(texts) < len(base_texts) else _perturb(text, rng))
            labels.append(label)
            if len(texts) >= args.n:
                break
    say = (lambda _m: None) if args.json else print
    started, started_cpu = time.perf_counter(), time.process_time()
    result = train(Dataset(texts, labels), algorithm=algorithm, n_folds=args.folds, progress=say)
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    m = result.metrics
    out = {
        "n": len(texts), "source": source, "algorithm": algorithm, "folds": args.folds, "training_seconds": round(wall, 1),
        "training_cpu_seconds": round(cpu, 1), "cv_seconds": m["cv_seconds"], "fit_seconds": m["fit_seconds"],
        "groups": m["groups"], "cpus": os.cpu_count(), "load_average": os.getloadavg(),
        "note": "CV metrics on replicated data are meaningless (copies share groups only when similar enough); timing only",
    }
    if not args.json:
        print(f"训练 {len(texts)} 条（{algorithm}，{args.folds} 折选阈值 + 最终模型）：{wall:.1f} 秒（CPU {cpu:.1f} 秒）")
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
