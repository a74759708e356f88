"""The demo's history and first routing model: load time, training time, held-out leaf accuracy.

Run against a database that has the reference data, the demo geography and the demo accounts
but no history yet (e.g. `cityops migrate && cityops demo_cases --history-days 0 --no-model`
after the other `cityops demo` steps, or a copy taken before):

    CITYOPS_VAR_DIR=/tmp/bench .venv/bin/python benchmarks/routing_demo.py [--heldout 5000]

Prints wall and CPU seconds of each step (CPU time is what the step costs on one core when the
machine is shared) and the model's accuracy on texts it never saw: descriptions generated with
another seed from the same vocabulary, in the history's mix of 小类 and channels. They come from
the same templates as the training texts, so the figure is an upper bound for real wording.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


def timed(label: str, func):
    wall, cpu = time.perf_counter(), time.process_time()
    value = func()
    out = {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2)}
    print(f"{label}: {out}", flush=True)
    return value, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heldout", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    import numpy as np

    from cityops.cases.models import Channel
    from cityops.catalog import workcal
    from cityops.desks import demo_history as dh
    from cityops.routing.registry import active_model
    from cityops.routing.services import demo_model_ensure

    if dh.history_loaded():
        sys.exit("history already loaded: use a database without it")
    workcal.is_workday(django.utils.timezone.localdate())  # load the holiday tables outside the timings
    history, load = timed("history (generate + insert)", lambda: dh.demo_history_ensure(rebuild=False))
    _, rebuild = timed("rollups + duplicate index", dh.rebuild_derived)
    model, training = timed("train + activate", demo_model_ensure)
    loaded = active_model()
    rng = random.Random(args.seed)
    codes = [c for c in dh.CATEGORIES if c in loaded.router.classes]
    weights = [dh.CATEGORIES[c][0] for c in codes]
    texts, labels = [], []
    for _ in range(args.heldout):
        code = rng.choices(codes, weights=weights)[0]
        channels = dh.HOTLINE_CHANNELS if code.startswith("H") else dh.URBAN_CHANNELS
        channel = rng.choices([c for c, _ in channels], weights=[p for _, p in channels])[0]
        title, text = dh.describe(rng, code, channel, rng.choice(["东关", "八一路", "中庄", "乐家湾"]))
        texts.append("\n".join(p for p in (title, text) if p))
        labels.append(code)
    proba = loaded.router.predict_proba(texts)
    classes = np.asarray(loaded.router.classes)
    y = np.asarray(labels)
    top3 = np.argsort(-proba, axis=1)[:, :3]
    confident = proba.max(axis=1) >= loaded.threshold
    correct = classes[proba.argmax(axis=1)] == y
    result = {
        "cases": history.cases, "events": history.events, "load": load, "rebuild": rebuild, "training": training,
        "classes": len(classes), "training_size": model.training_size, "cv_accuracy": model.metrics.get("accuracy"),
        "threshold": round(loaded.threshold, 4), "heldout": len(y), "heldout_accuracy": round(float(correct.mean()), 4),
        "heldout_top3": round(float((classes[top3] == y[:, None]).any(axis=1).mean()), 4),
        "heldout_coverage": round(float(confident.mean()), 4),
        "heldout_auto_precision": round(float(correct[confident].mean()), 4) if confident.any() else None,
        "channels": sorted(str(Channel(c).label) for c, _ in dh.URBAN_CHANNELS),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
