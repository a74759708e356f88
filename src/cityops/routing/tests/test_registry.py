import pytest
from django.db import IntegrityError, transaction

from cityops.routing import registry
from cityops.routing.models import RoutingModel


def _versions_active():
    return list(RoutingModel.objects.filter(active=True).values_list("version", flat=True))


def test_activation_and_rollback_keep_exactly_one_active(db, trained):
    v1 = registry.model_save(trained, source="a", activate=True)
    v2 = registry.model_save(trained, source="b")
    assert _versions_active() == [v1.version]
    registry.model_activate(v2.version)
    assert _versions_active() == [v2.version]
    v3 = registry.model_save(trained, source="c", activate=True)
    assert _versions_active() == [v3.version]
    registry.model_rollback()
    assert _versions_active() == [v2.version]
    registry.model_rollback()
    assert _versions_active() == [v3.version]


def test_the_database_refuses_a_second_active_model(db, trained):
    registry.model_save(trained, activate=True)
    other = registry.model_save(trained)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoutingModel.objects.filter(pk=other.pk).update(active=True)


def test_unknown_version_and_nothing_to_roll_back_are_clear_errors(db, trained):
    with pytest.raises(registry.ModelNotFound):
        registry.model_activate(42)
    registry.model_save(trained, activate=True)
    with pytest.raises(registry.ModelNotFound):
        registry.model_rollback()


def test_the_cached_model_follows_the_active_version(db, trained):
    assert registry.active_model() is None
    first = registry.model_save(trained, activate=True)
    loaded = registry.active_model()
    assert loaded.version == first.version
    assert registry.active_model() is loaded  # cached, not unpickled again
    second = registry.model_save(trained)
    # Another process activates: only the row changes, this process's cache must notice.
    RoutingModel.objects.filter(pk=first.pk).update(active=False)
    RoutingModel.objects.filter(pk=second.pk).update(active=True)
    assert registry.active_model().version == second.version


def test_saved_model_records_metrics_classes_and_threshold(db, trained):
    model = registry.model_save(trained, source="synthetic.csv")
    assert model.classes == ["H01", "H02", "H03"]
    assert model.training_size == 150
    assert {"accuracy", "macro_f1", "per_class_f1", "top3", "coverage", "auto_precision", "curve"} <= set(model.metrics)
    assert model.threshold == pytest.approx(trained.threshold)
    assert model.artifact_size > 0
