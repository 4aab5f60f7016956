"""Training settings and data sources, kept in the project file.

The training engine reads these; the core only stores and checks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MODES = ("joint", "alternating", "soft_sharing")
WEIGHTINGS = ("fixed", "uncertainty", "dwa", "gradnorm", "pcgrad", "mgda")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("random", "round_robin", "proportional")
DATA_KINDS = ("generator", "csv", "npz")


@dataclass
class OptimizerSpec:
    name: str = "adam"
    learning_rate: float = 0.001


@dataclass
class TrainingSettings:
    mode: str = "joint"
    weighting: str = "fixed"
    # GradNorm's restoring force (Chen et al. 2018).
    gradnorm_alpha: float = 1.5
    # Dynamic weight average temperature (Liu et al. 2019).
    dwa_temperature: float = 2.0
    optimizer: OptimizerSpec = field(default_factory=OptimizerSpec)
    # Alternating mode: how the next task's batch is chosen.
    schedule: str = "random"
    # Soft sharing: weight of the squared distance between tied weights.
    soft_sharing_lambda: float = 0.01
    batch_size: int = 32
    epochs: int = 10
    validation_split: float = 0.2
    # Rows held out from training, early stopping and the choice of the best
    # epoch, for `evaluate` (data/prepare.py draws them with the seed).
    test_split: float = 0.0
    seed: int = 0
    # Training steps run inside one compiled call.
    steps_per_call: int = 20
    # What picks the best epoch, and what early stopping watches: "total"
    # (each task's validation loss times its weight as set here), or
    # "TASK:loss" / "TASK:METRIC" (training/monitor.py reads it).
    monitor: str = "total"
    early_stopping: bool = False
    patience: int = 10  # epochs without improvement before stopping
    min_delta: float = 0.0  # smaller changes than this are not improvements
    # The seed of the data split when it must stay while `seed` changes (a
    # study's runs of several seeds share one split); None: `seed`.
    split_seed: int | None = None
    # Inter-task affinity (training/affinity.py) every this many steps; 0: off.
    affinity_every: int = 0

    @property
    def seed_of_split(self) -> int:
        return self.seed if self.split_seed is None else self.split_seed


def describe(t: TrainingSettings) -> str:
    """The settings of a run in one line, as `show` and the Results tab say them."""
    stop = f", early stopping after {t.patience} epochs" if t.early_stopping else ""
    return (
        f"mode {t.mode}, weighting {t.weighting}, optimizer {t.optimizer.name} "
        f"(learning rate {t.optimizer.learning_rate:g}), batch {t.batch_size}, "
        f"epochs {t.epochs}, validation {t.validation_split:g}, test {t.test_split:g}, "
        f"seed {t.seed}, best epoch by {t.monitor}{stop}"
    )


@dataclass
class DataSource:
    """Where examples come from.

    kind "generator": a built-in formula (name + params); "csv" / "npz": a
    file, its path absolute in memory and relative to the project file, when
    possible, on disk. `inputs` maps
    each Input node id to the columns (or one array) that feed it; each task
    names its own target columns.
    """

    kind: str = "generator"
    generator: str = ""
    params: dict = field(default_factory=dict)
    path: str = ""
    inputs: dict[str, list[str]] = field(default_factory=dict)
    standardize_inputs: bool = True
    standardize_targets: bool = False
    # {"size": bytes, "sha256": hex} of the file when the project was last
    # saved, to tell the user when it has changed since (core/datafiles.py).
    fingerprint: dict | None = None

    @property
    def chosen(self) -> bool:
        """Is any data chosen: a generator, or a file? A new project's
        source is a generator without a name: nothing chosen yet."""
        return bool(self.generator if self.kind == "generator" else self.path)
