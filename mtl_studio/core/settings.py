"""Training settings and data sources, kept in the project file.

The training engine reads these; the core only stores and checks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MODES = ("joint", "alternating", "soft_sharing")
# How training reads a CSV or NPZ file (data/stream.py): "auto" streams a
# file of at least data/stream.py's STREAM_BYTES from disk in blocks and
# reads a smaller one whole; "memory" always reads it whole; "stream"
# always streams it. Generators are always in memory.
DATA_LOADING = ("auto", "memory", "stream")
WEIGHTINGS = (
    "fixed",
    "uncertainty",
    "dwa",
    "gradnorm",
    "pcgrad",
    "mgda",
    "cagrad",
    "imtl",
    "rlw",
    "gradvac",
    "aligned_mtl",
    "famo",
)
# The weightings that work on the shared trunk's gradients: they need a
# shared layer with weights, and do not apply in soft sharing.
SHARED_TRUNK_WEIGHTINGS = ("gradnorm", "mgda", "cagrad", "imtl", "gradvac", "aligned_mtl")
# The TrainingSettings fields each weighting reads (its hyperparameters),
# named "<weighting>_<hyperparameter>".
WEIGHTING_PARAMS = {
    "gradnorm": ("gradnorm_alpha",),
    "dwa": ("dwa_temperature",),
    "cagrad": ("cagrad_c",),
    "gradvac": ("gradvac_beta",),
    "famo": ("famo_learning_rate", "famo_weight_decay"),
}
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
# The Keras class of each optimizer, keras.optimizers.<class>: the Trainer
# makes its optimizers from it and the exported script names it.
OPTIMIZER_CLASSES = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop"}
# The OptimizerSpec fields besides the learning rate that each optimizer
# takes, by Keras' names; the others are kept but unused.
OPTIMIZER_PARAMS = {
    "adam": ("beta_1", "beta_2", "epsilon"),
    "adamw": ("beta_1", "beta_2", "epsilon"),
    "sgd": ("momentum",),
    "rmsprop": ("momentum", "epsilon"),
}
SCHEDULES = ("random", "round_robin", "proportional")
# Where a run trains (training/distribute.py): TensorFlow's default device,
# tf.distribute.MirroredStrategy over this machine's GPUs, or
# MultiWorkerMirroredStrategy over the processes of a cluster.
DISTRIBUTIONS = ("default", "mirrored", "multi-worker")
# The numbers a run computes in (training/precision.py): Keras' dtype
# policies; the variables and the task outputs stay float32.
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
DATA_KINDS = ("generator", "csv", "npz", "images")
# An image folder (kind "images", data/images.py): every image is resized to
# (image_height, image_width) with image_channels channels, within these bounds.
MAX_IMAGE_SIZE = 4096
IMAGE_CHANNELS = (1, 3)


@dataclass
class OptimizerSpec:
    name: str = "adam"
    learning_rate: float = 0.001
    # Keras' defaults. Adam and AdamW: the decay rates of the moment
    # estimates and the small constant added to the denominator; SGD and
    # RMSprop: momentum (RMSprop has epsilon too). OPTIMIZER_PARAMS says
    # which optimizer reads which.
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    momentum: float = 0.0

    def keras_arguments(self) -> dict:
        """The keyword arguments of the Keras optimizer's constructor: the
        learning rate and the fields this optimizer takes. The Trainer
        passes them, the exported script writes them out."""
        return {
            "learning_rate": self.learning_rate,
            **{key: getattr(self, key) for key in OPTIMIZER_PARAMS[self.name]},
        }


def describe_optimizer(spec: OptimizerSpec) -> str:
    """ "adam (learning rate 0.001)", with the optimizer's other fields where
    they differ from Keras' defaults: "sgd (learning rate 0.01, momentum 0.9)"."""
    default = OptimizerSpec()
    parts = [f"learning rate {spec.learning_rate:g}"] + [
        f"{key} {getattr(spec, key):g}"
        for key in OPTIMIZER_PARAMS[spec.name]
        if getattr(spec, key) != getattr(default, key)
    ]
    return f"{spec.name} ({', '.join(parts)})"


@dataclass
class TrainingSettings:
    mode: str = "joint"
    weighting: str = "fixed"
    # GradNorm's restoring force (Chen et al. 2018).
    gradnorm_alpha: float = 1.5
    # Dynamic weight average temperature (Liu et al. 2019).
    dwa_temperature: float = 2.0
    # CAGrad's c (Liu et al. 2021): how far, relative to the mean gradient's
    # norm, the update may leave the mean gradient; in [0, 1), 0: the sum.
    cagrad_c: float = 0.5
    # GradVac's beta (Wang et al. 2021): how fast the cosine targets follow
    # the cosines seen (an exponential moving average), in [0, 1].
    gradvac_beta: float = 0.01
    # FAMO (Liu et al. 2023): the task logits' Adam learning rate and their
    # weight decay (the paper's defaults).
    famo_learning_rate: float = 0.025
    famo_weight_decay: float = 0.001
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
    # Where the run trains, and in which precision (DISTRIBUTIONS, PRECISIONS).
    strategy: str = "default"
    precision: str = "float32"
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
    # One of DATA_LOADING: read the data files whole, or stream them from disk.
    data_loading: str = "auto"

    @property
    def seed_of_split(self) -> int:
        return self.seed if self.split_seed is None else self.split_seed


def describe_weighting(t: TrainingSettings) -> str:
    """ "cagrad (c 0.5)": the weighting, with its hyperparameters if it has any."""
    params = WEIGHTING_PARAMS.get(t.weighting, ())
    shown = [
        f"{key[len(t.weighting) + 1 :].replace('_', ' ')} {getattr(t, key):g}" for key in params
    ]
    return f"{t.weighting} ({', '.join(shown)})" if shown else t.weighting


def describe(t: TrainingSettings) -> str:
    """The settings of a run in one line, as `show` and the Results tab say them."""
    stop = f", early stopping after {t.patience} epochs" if t.early_stopping else ""
    if t.strategy != "default":
        stop += f", strategy {t.strategy}"
    if t.precision != "float32":
        stop += f", precision {t.precision}"
    return (
        f"mode {t.mode}, weighting {describe_weighting(t)}, "
        f"optimizer {describe_optimizer(t.optimizer)}, "
        f"batch {t.batch_size}, "
        f"epochs {t.epochs}, validation {t.validation_split:g}, test {t.test_split:g}, "
        f"seed {t.seed}, best epoch by {t.monitor}{stop}"
    )


@dataclass
class DataSource:
    """Where examples come from.

    kind "generator": a built-in formula (name + params); "csv" / "npz": a
    file, its path absolute in memory and relative to the project file, when
    possible, on disk; "images": a CSV file whose `image_column` holds paths
    of PNG or JPEG files (relative to the CSV's folder), each decoded to
    (image_height, image_width, image_channels) floats in [0, 1]
    (data/images.py). `inputs` maps
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
    # kind "images" only (data/images.py): the column of image paths, the
    # size every image is resized to, 1 (grayscale) or 3 (RGB) channels, and
    # whether decoded images are kept on disk for the next run.
    image_column: str = ""
    image_height: int = 64
    image_width: int = 64
    image_channels: int = 3
    cache_images: bool = False

    @property
    def chosen(self) -> bool:
        """Is any data chosen: a generator, or a file? A new project's
        source is a generator without a name: nothing chosen yet."""
        return bool(self.generator if self.kind == "generator" else self.path)


def image_field_problem(source: DataSource) -> tuple[str, str] | None:
    """(field, message) of the first image field of an "images" source that
    is out of bounds, or None. The file format names the field."""
    if source.kind != "images":
        return None
    if not isinstance(source.image_column, str):
        return "image_column", f"expected a column name, got {source.image_column!r}"
    for name in ("image_height", "image_width"):
        value = getattr(source, name)
        if isinstance(value, bool) or not isinstance(value, int):
            return name, f"expected a whole number of pixels, got {value!r}"
        if not 1 <= value <= MAX_IMAGE_SIZE:
            return name, f"must be 1 to {MAX_IMAGE_SIZE} pixels, got {value}"
    if source.image_channels not in IMAGE_CHANNELS or isinstance(source.image_channels, bool):
        return "image_channels", (
            f"must be 1 (grayscale) or 3 (RGB), got {source.image_channels!r}"
        )
    if not isinstance(source.cache_images, bool):
        return "cache_images", f"expected true or false, got {source.cache_images!r}"
    return None
