"""Checks on the public complaints data (skipped where ../shared/data is absent). Kept small:
the full benchmark is `cityops routing benchmark`, see docs/benchmarks/routing.md."""

import numpy as np
import pytest

from cityops.routing.labels import hotline_label_map
from cityops.routing.pipeline import fit_router
from cityops.routing.tests.support import real_data
from cityops.routing.training import read_csv, score


@pytest.fixture(scope="module")
def tokenized():
    return read_csv(real_data("labeled_tokenized.csv"), label_map=hotline_label_map())


def test_every_public_label_maps_to_a_hotline_category(tokenized):
    assert set(tokenized.labels) == {"H01", "H02", "H03", "H04", "H05", "H06", "H07"}
    assert len(tokenized) == 7368


def test_a_model_trained_on_segmented_text_reads_raw_text(tokenized):
    raw = read_csv(real_data("labeled_raw.csv"), label_map=hotline_label_map())
    rng = np.random.RandomState(0)
    pick = rng.choice(len(tokenized), 2000, replace=False)
    router, _ = fit_router([tokenized.texts[i] for i in pick], [tokenized.labels[i] for i in pick], "char13_cnb")
    sample = rng.choice(len(raw), 300, replace=False)
    metrics = score(router.predict_proba([raw.texts[i] for i in sample]), router.classes, [raw.labels[i] for i in sample])
    assert metrics["accuracy"] > 0.75
