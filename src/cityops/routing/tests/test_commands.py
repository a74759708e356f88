import json

import pytest
from django.core.management import CommandError, call_command

from cityops.routing.models import RoutingModel
from cityops.routing.tests.support import NAMES, synthetic_dataset


def _csv(path, data, names=True):
    lines = ["id,text,label"]
    for i, (text, label) in enumerate(zip(data.texts, data.labels, strict=True)):
        lines.append(f"{i},{text},{NAMES[label] if names else label}")
    path.write_text("\n".join(lines), encoding="utf-8")
    return str(path)


def test_train_maps_label_names_to_codes_and_activates_on_request(hotline, tmp_path, capsys):
    path = _csv(tmp_path / "train.csv", synthetic_dataset(per_class=25))
    call_command("routing_train", "--csv", path, "--folds", "2", "--algorithm", "char13_cnb")
    first = RoutingModel.objects.get()
    assert not first.active and first.classes == ["H01", "H02", "H03"]
    call_command("routing_train", "--csv", path, "--folds", "2", "--algorithm", "char13_cnb", "--activate")
    assert RoutingModel.objects.get(active=True).version == first.version + 1
    call_command("routing_activate", str(first.version))
    assert RoutingModel.objects.get(active=True).version == first.version
    call_command("routing_activate", "--rollback")
    assert RoutingModel.objects.get(active=True).version == first.version + 1


def test_train_refuses_unknown_labels(db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("text,label\n" + "\n".join(f"文本{i},不存在的分类" for i in range(30)), encoding="utf-8")
    with pytest.raises(CommandError, match="无法对应"):
        call_command("routing_train", "--csv", str(path))


def test_benchmark_prints_one_json_object_last(db, tmp_path, capsys):
    train = _csv(tmp_path / "train.csv", synthetic_dataset(per_class=25, seed=1))
    test = _csv(tmp_path / "test.csv", synthetic_dataset(per_class=10, seed=2))
    call_command("routing_benchmark", "--train", train, "--test", test, "--json", "--folds", "2", "--algorithm", "char13_cnb")
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    for key in ("accuracy", "macro_f1", "top3", "coverage", "auto_precision", "p50_ms", "p99_ms"):
        assert key in result
    assert result["accuracy"] > 0.9


def test_retrain_from_history_without_cases_is_a_clear_error(db):
    with pytest.raises(CommandError, match="训练样本太少"):
        call_command("routing_retrain")
