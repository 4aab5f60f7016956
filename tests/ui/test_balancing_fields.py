"""The Training panel offers the balancing methods by name, and shows each
method's hyperparameters only while it is chosen; an edit is one undo step."""

from mtl_studio.core.settings import WEIGHTING_PARAMS, WEIGHTINGS
from mtl_studio.ui.training_settings import (
    WEIGHTING_FIELDS,
    WEIGHTING_LABELS,
    TrainingSettingsForm,
)


def choose(combo, key):
    """As a user picks an entry: `activated` follows the choice."""
    index = combo.findData(key)
    assert index >= 0, key
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def shown(form):
    return {key for key in WEIGHTING_FIELDS if getattr(form, key).isVisibleTo(form)}


def test_each_method_shows_its_own_fields(qtbot, document):
    form = TrainingSettingsForm(document)
    qtbot.addWidget(form)
    combo = form.weighting
    assert [combo.itemData(i) for i in range(combo.count())] == list(WEIGHTINGS)
    assert combo.itemText(combo.findData("aligned_mtl")) == "Aligned-MTL (aligned components)"
    assert set(WEIGHTING_LABELS) == set(WEIGHTINGS)
    project = document.project
    for name in ("cagrad", "imtl", "rlw", "gradvac", "aligned_mtl", "famo", "fixed"):
        choose(combo, name)
        assert project.training.weighting == name
        new = set(WEIGHTING_PARAMS.get(name, ())) & set(WEIGHTING_FIELDS)
        assert shown(form) == new, name
    choose(combo, "famo")
    assert shown(form) == {"famo_learning_rate", "famo_weight_decay"}
    assert form.famo_learning_rate.value() == 0.025
    # Alternating mode ignores the weighting: its fields hide too.
    choose(form.mode, "alternating")
    assert shown(form) == set()


def test_an_edit_sets_the_project_and_undoes(qtbot, document):
    form = TrainingSettingsForm(document)
    qtbot.addWidget(form)
    choose(form.weighting, "cagrad")
    assert form.cagrad_c.value() == 0.5
    form.cagrad_c.setValue(0.3)
    assert document.project.training.cagrad_c == 0.3
    document.undo()
    assert document.project.training.cagrad_c == 0.5 and form.cagrad_c.value() == 0.5
    # The box keeps to the project's range: c stays below 1.
    form.cagrad_c.setValue(5.0)
    assert document.project.training.cagrad_c < 1
