"""Mixed precision (training/precision.py): the layers compute in bfloat16
or float16, the task outputs and the losses stay float32, and float16's
gradients are loss-scaled."""

import numpy as np
import pytest

from mtl_studio.training import events as ev
from mtl_studio.training import precision
from mtl_studio.training.builder import build_model
from mtl_studio.training.trainer import Trainer
from tests.training.conftest import regression_project, tiny_data


def _step_losses(project, **kwargs):
    got = []

    def on_events(batch):
        got.extend(
            np.stack([e.losses["a"], e.losses["b"]], axis=1)
            for e in batch
            if isinstance(e, ev.StepLosses)
        )

    trainer = Trainer(project, callback=on_events, data=tiny_data(), **kwargs)
    finished = trainer.run(2)
    assert finished.status == "completed", finished.message
    return np.concatenate(got), trainer


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_layers_compute_in_the_policy_and_the_outputs_in_float32(policy):
    project = regression_project()
    project.training.precision = policy
    model = build_model(project).model
    trunk, out = model.get_layer("trunk"), model.get_layer("out_a")
    assert trunk.compute_dtype == policy.split("_")[1]
    assert trunk.variable_dtype == "float32"  # the weights stay float32
    assert out.compute_dtype == "float32"
    assert all(o.dtype == "float32" for o in model.outputs)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_close_to_float32(policy):
    exact, _ = _step_losses(regression_project())
    project = regression_project()
    project.training.precision = policy
    mixed, trainer = _step_losses(project)
    assert mixed.shape == exact.shape
    # bfloat16 keeps 8 bits of mantissa, float16 11: the curves stay close.
    assert np.allclose(mixed, exact, rtol=0.05, atol=0.02)
    assert (trainer.loss_scale is not None) == (policy == "mixed_float16")
    if policy == "mixed_bfloat16":
        assert not trainer.xla  # on a CPU, bfloat16 trains without XLA


def test_float16_steps_whose_gradients_overflow_are_skipped_and_the_scale_halves(monkeypatch):
    # A scale far past float16's range: the first steps overflow.
    monkeypatch.setattr(precision, "INITIAL_SCALE", 2.0**24)
    project = regression_project()
    project.training.precision = "mixed_float16"
    trainer = Trainer(project, data=tiny_data())
    trainer.setup()
    before = trainer.weight_values()
    trainer.run(2)
    scale = float(trainer.loss_scale.scale.numpy())
    halvings = np.log2(2.0**24 / scale)
    # Halved at each overflowing step (a whole number of times), not at every step.
    assert halvings == int(halvings) and 1 <= halvings < trainer.step
    after = trainer.weight_values()
    # Some steps were finite at last and trained.
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    assert trainer.learning_rates()  # the run ended cleanly


def test_a_float16_checkpoint_resumes_with_its_loss_scale(tmp_path):
    project = regression_project()
    project.training.precision = "mixed_float16"
    path = tmp_path / "checkpoint.npz"
    first = Trainer(project, data=tiny_data(), checkpoint_path=path)
    first.run(1)
    first.loss_scale.scale.assign(1024.0)
    first.save_checkpoint(path)
    second = Trainer(project, data=tiny_data())
    second.restore_checkpoint(path)
    assert float(second.loss_scale.scale.numpy()) == 1024.0
    # A float32 checkpoint resumes in float16 with a fresh scale.
    plain = regression_project()
    other = tmp_path / "plain.npz"
    Trainer(plain, data=tiny_data(), checkpoint_path=other).run(1)
    third = Trainer(project, data=tiny_data())
    third.restore_checkpoint(other)
    assert float(third.loss_scale.scale.numpy()) == precision.INITIAL_SCALE
