import numpy as np
import pytest

from cityops.routing.tests.support import synthetic_dataset
from cityops.routing.training import (
    TrainingDataError,
    check_trainable,
    choose_threshold,
    dedup_against,
    near_duplicate_groups,
    precision_curve,
    read_csv,
    score,
    threshold_from_curve,
    wilson_lower,
)


def _synthetic_scores(n=2000, seed=0):
    """Confidence uniform on [0.3, 1); a prediction is right with probability = its confidence."""
    rng = np.random.RandomState(seed)
    confidence = rng.uniform(0.3, 1.0, n)
    correct = rng.uniform(0, 1, n) < confidence
    return confidence, correct


def test_threshold_reaches_the_target_precision_with_maximal_coverage():
    confidence, correct = _synthetic_scores()
    threshold, coverage, precision = choose_threshold(confidence, correct, 0.95, conservative=False)
    admitted = confidence >= threshold
    assert precision == pytest.approx(correct[admitted].mean())
    assert precision >= 0.95
    assert coverage == pytest.approx(admitted.mean())
    # One step lower would break the target: the threshold is the lowest that reaches it.
    lower = np.sort(confidence[confidence < threshold])[-1]
    assert correct[confidence >= lower].mean() < 0.95


def test_conservative_threshold_is_higher_and_its_lower_bound_reaches_the_target():
    confidence, correct = _synthetic_scores()
    plain, _, _ = choose_threshold(confidence, correct, 0.95, conservative=False)
    careful, _, _ = choose_threshold(confidence, correct, 0.95, conservative=True)
    assert careful >= plain
    admitted = confidence >= careful
    assert wilson_lower(correct[admitted].sum(), admitted.sum()) >= 0.95


def test_unreachable_target_means_never_auto_dispatch():
    confidence = np.linspace(0.5, 0.99, 100)
    correct = np.arange(100) % 2 == 0  # 50 % right everywhere
    threshold, coverage, _ = choose_threshold(confidence, correct, 0.98)
    assert threshold > 1.0
    assert coverage == 0


def test_ties_are_admitted_together():
    confidence = np.array([0.9] * 30 + [0.8] * 30)
    correct = np.array([True] * 30 + [True] * 29 + [False])
    threshold, coverage, _ = choose_threshold(confidence, correct, 0.99, conservative=False)
    assert threshold == 0.9
    assert coverage == 0.5


def test_threshold_from_the_stored_curve_follows_the_target():
    confidence, correct = _synthetic_scores()
    curve = precision_curve(confidence, correct)
    loose, strict = threshold_from_curve(curve, 0.90), threshold_from_curve(curve, 0.97)
    assert loose < strict
    assert threshold_from_curve(curve, 0.9999) > 1.0


def test_score_counts_top3_and_coverage():
    classes = ["A", "B", "C", "D"]
    proba = np.array([[0.9, 0.05, 0.03, 0.02], [0.1, 0.2, 0.3, 0.4], [0.5, 0.3, 0.1, 0.1]])
    metrics = score(proba, classes, ["A", "A", "B"], threshold=0.8)
    assert metrics["accuracy"] == pytest.approx(1 / 3)
    assert metrics["top3"] == pytest.approx(2 / 3)
    assert metrics["coverage"] == pytest.approx(1 / 3)
    assert metrics["auto_precision"] == 1.0


def test_near_duplicates_share_a_group_and_dedup_removes_them():
    base = "小区物业违规收取停车费业主多次反映社区不闻不问请求领导督办" * 2
    texts = [base, base + "谢谢", "学校老师周末在培训机构有偿补课家长反映多次无果", "劳动合同到期公司拖欠工资三个月不发"]
    groups = near_duplicate_groups(texts)
    assert groups[0] == groups[1]
    assert len({groups[1], groups[2], groups[3]}) == 3
    data = synthetic_dataset(per_class=2)
    data.texts[0] = base + "。"
    kept, removed = dedup_against([base], data)
    assert removed == 1 and len(kept) == len(data) - 1


def test_csv_without_label_column_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,text\n1,小区垃圾\n", encoding="utf-8")
    with pytest.raises(TrainingDataError, match="text 和 label"):
        read_csv(path)


def test_rows_without_labels_are_skipped_and_a_single_class_is_refused(tmp_path):
    path = tmp_path / "one.csv"
    rows = ["text,label"] + [f"小区垃圾成堆第{i}次,城乡建设" for i in range(30)] + ["没有标签的行,", ",城乡建设"]
    path.write_text("\n".join(rows), encoding="utf-8")
    data = read_csv(path, label_map={"城乡建设": "H01"})
    assert data.skipped == {"missing_label": 1, "missing_text": 1}
    assert set(data.labels) == {"H01"}
    with pytest.raises(TrainingDataError, match="只有一个类别"):
        check_trainable(data)


def test_missing_file_and_bad_encoding_are_clear_errors(tmp_path):
    with pytest.raises(TrainingDataError, match="找不到文件"):
        read_csv(tmp_path / "nope.csv")
    path = tmp_path / "gbk.csv"
    path.write_bytes("text,label\n小区垃圾,城乡建设\n".encode("gbk"))
    with pytest.raises(TrainingDataError, match="UTF-8"):
        read_csv(path)


def test_trained_model_separates_the_synthetic_classes(trained):
    assert trained.metrics["macro_f1"] > 0.95
    assert trained.router.classes == ["H01", "H02", "H03"]
    assert 0 < trained.threshold <= 1
    assert trained.router.top("学校老师违规补课收费")[0][0] == "H03"


def test_single_text_fast_path_matches_the_pipeline(trained):
    router = trained.router
    for text in ["学校老师违规补课收费", "小区物业乱收停车费", "", "😀", "工资" * 3000]:
        assert np.allclose(router.proba_one(text), router.predict_proba([text])[0], atol=1e-6)


@pytest.mark.parametrize("algorithm", ["char13_svc_oof", "char13_nbstack_oof"])
def test_both_fast_algorithms_train_and_their_single_text_path_matches(algorithm):
    from cityops.routing.training import train

    result = train(synthetic_dataset(per_class=30, seed=3), algorithm=algorithm, n_folds=3, group_duplicates=False)
    router = result.router
    assert router.algorithm == algorithm
    assert router.top("学校老师违规补课收费")[0][0] == "H03"
    for text in ["学校老师违规补课收费", "小区物业乱收停车费", ""]:
        assert np.allclose(router.proba_one(text), router.predict_proba([text])[0], atol=1e-6)


def test_nb_ratios_favour_the_class_a_feature_belongs_to():
    import scipy.sparse as sp

    from cityops.routing.pipeline import nb_ratios

    # feature 0 only in class A, feature 1 only in class B, feature 2 everywhere
    X = sp.csr_matrix(np.array([[1, 0, 1], [1, 0, 1], [0, 1, 1], [0, 1, 1]], dtype=float))
    ratios = nb_ratios(X, np.array(["A", "A", "B", "B"]), ["A", "B"])
    assert ratios[0, 0] > 0 > ratios[0, 1]
    assert ratios[1, 1] > 0 > ratios[1, 0]
    assert abs(ratios[0, 2]) < 1e-9


def test_the_stacked_model_is_one_linear_matrix_of_twice_the_classes(trained):
    clf = trained.router.estimator.steps[-1][1]
    assert clf.coef_.shape[0] == 2 * len(trained.router.classes)
    assert clf.coef_.dtype == np.float32
