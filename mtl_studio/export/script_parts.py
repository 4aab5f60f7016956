"""The code pieces of an exported training script, as text.

script.py picks the pieces a project needs and fills in its names and
numbers; nothing here runs TensorFlow. The rules that decide the numbers
(the split, the batches of each epoch, the weightings' rules: DWA's weights,
PCGrad's projection, the solvers of MGDA and CAGrad, ...) are not written
here: the script gets a verbatim copy of the functions MTL Studio itself
calls (source() below). The other pieces mirror a part of MTL Studio (named
in their comments) closely enough that, with the same seed, the script's
step losses are the Trainer's: same operations in each step. When one of
those parts changes, the matching piece here must change with it
(tests/export/test_script.py compares the losses).
"""

from __future__ import annotations

import inspect
from string import Template

from ..data import images as image_files
from ..data import splits
from ..training import batches, distribute, precision, weighting_math
from ..training import images as image_decoding


def fill(text: str, **values: str) -> str:
    """A piece with its $placeholders filled; the code holds no other $."""
    return Template(text).substitute(values)


def source(*functions) -> str:
    """The functions' source, verbatim: MTL Studio's own rules, copied into
    the script. They use numpy, TensorFlow and the standard library only."""
    return "\n\n".join(inspect.getsource(fn) for fn in functions)


IMPORTS = """\
${stdlib}from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # no TensorFlow start-up notes
import keras  # noqa: E402 (after the environment settings above)
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402
"""

# --- data (mtl_studio/data/table.py and prepare.py) ------------------------------

READ_CSV = '''
def read_csv(path):
    """The file's columns by header name: numbers as float64, and text for a
    column with any cell that is not a finite number."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        records = [[cell.strip() for cell in row] for row in csv.reader(file)]
    while records and not any(records[-1]):
        records.pop()  # blank lines at the end
    header, rows = records[0], records[1:]
    return {name: csv_column([row[j] for row in rows]) for j, name in enumerate(header)}


def csv_column(cells):
    try:
        values = np.array([float(cell) for cell in cells])
    except ValueError:
        return np.array(cells, dtype=str)
    return values if np.all(np.isfinite(values)) else np.array(cells, dtype=str)
'''

READ_NPZ = '''
def read_npz(path):
    """The arrays of a numpy .npz archive (never unpickled): True/False as
    1/0, strings as text."""
    columns = {}
    with np.load(path, allow_pickle=False) as archive:
        for key in archive.files:
            values = archive[key]
            if values.dtype.kind == "b":
                values = values.astype(np.int8)
            elif values.dtype.kind in "US":
                values = values.astype(str)
            columns[key] = values
    return columns
'''

# An image folder: a CSV file whose image column names PNG or JPEG files
# (mtl_studio/data/images.py), decoded by MTL Studio's own decoder.
READ_IMAGES = (
    source(image_files.ImageDecodeError, image_decoding.decode_images)
    + '''

def read_images(path, column, shape):
    """The CSV file's columns, its image column decoded: each image, named
    relative to the CSV file's folder, as float32 (height, width, channels)
    in [0, 1], resized to `shape`. They are never standardised."""
    table = read_csv(path)
    names = table[column]
    paths = [Path(path).parent / os.path.normpath(str(name)) for name in names]
    try:
        table[column] = decode_images(paths, shape)
    except ImageDecodeError as error:
        raise SystemExit(f"{path}: cannot decode the image {names[error.index]} "
                         f"({error.message})") from None
    return table
'''
)

GENERATED_TABLE = '''
def table_of(name, arrays):
    """Every generated array as float32, as MTL Studio keeps them."""
    return {key: values.astype(np.float32) for key, values in arrays.items()}
'''

NUMBERS = '''
def numbers(table, names):
    """The named columns as float64: one array of rank 2 or more as it is,
    otherwise the columns side by side, one row per example."""
    if len(names) == 1 and table[names[0]].ndim >= 2:
        return table[names[0]].astype(np.float64)
    return np.stack([table[name].astype(np.float64) for name in names], axis=1)
'''

CLASS_IDS = '''
def class_ids(values, units, task):
    """Class ids 0..units-1: whole numbers in that range are ids already;
    any other labels are numbered in sorted order (printed, so predictions
    can be read back)."""
    if values.dtype.kind in "iuf" and np.all(values == np.round(values)) \\
            and values.min() >= 0 and values.max() < units:
        return values.astype(np.int32)
    labels, ids = np.unique(values, return_inverse=True)
    print(f"task {task}: class ids 0..{len(labels) - 1} stand for {labels.tolist()}")
    return ids.reshape(values.shape).astype(np.int32)
'''

ONE_HOT = '''
def one_hot(table, names, units, rank, task):
    """One-hot rows from one column of class labels, or the columns as given."""
    if len(names) == 1 and table[names[0]].ndim == rank:
        return np.eye(units, dtype=np.float32)[class_ids(table[names[0]], units, task)]
    return numbers(table, names)
'''

BINARY = '''
def binary_targets(table, names, task):
    """0/1 targets: several 0/1 columns as given, or one column whose two
    labels (if they are not 0 and 1) become 0 and 1 in sorted order."""
    if len(names) > 1:
        return numbers(table, names)
    values = table[names[0]]
    labels, ids = np.unique(values, return_inverse=True)
    if values.dtype.kind not in "iuf" or not set(labels.tolist()) <= {0, 1}:
        print(f"task {task}: 0 and 1 stand for {labels.tolist()}")
        values = ids.reshape(values.shape)
    values = values.astype(np.float64)
    return values[:, None] if values.ndim == 1 else values
'''

SPLIT_AND_SCALE = (
    source(splits.split_sizes, splits.split_rows)
    + '''

def rows_of(arrays):
    return len(next(iter(arrays.values())))


def standardize(train, val, names):
    """Scale by the training rows' mean and std (std 0 counts as 1), so
    nothing of the held-out rows leaks into training."""
    for name in names:
        mean, std = train[name].mean(axis=0), train[name].std(axis=0)
        std = np.where(std == 0, 1.0, std)
        train[name] = (train[name] - mean) / std
        val[name] = (val[name] - mean) / std


def float32(arrays):
    return {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in arrays.items()}


def split_and_scale(inputs, targets, scale_inputs, scale_targets):
    """(training, validation) rows, each as (inputs, targets). The test rows
    are left out: never trained on, nor used for validation (MTL Studio's
    evaluation scores them)."""
    try:
        train_rows, val_rows, _test_rows = split_rows(rows_of(inputs), VALIDATION_SPLIT,
                                                      TEST_SPLIT, SPLIT_SEED)
    except ValueError as error:
        raise SystemExit(f"{error}: lower VALIDATION_SPLIT or TEST_SPLIT") from None
    train_x = {k: v[train_rows] for k, v in inputs.items()}
    train_y = {k: v[train_rows] for k, v in targets.items()}
    val_x = {k: v[val_rows] for k, v in inputs.items()}
    val_y = {k: v[val_rows] for k, v in targets.items()}
    standardize(train_x, val_x, scale_inputs)
    standardize(train_y, val_y, scale_targets)
    return (float32(train_x), float32(train_y)), (float32(val_x), float32(val_y))
'''
)

LOAD_DATA = '''
def ${function}():
    """${what}, as MTL Studio prepares it: the
    columns of each input and target, seeded validation and test splits
    (the test rows left out) and standardisation with the training rows'
    statistics."""
    table = ${read}
    inputs = {
${inputs}
    }
    targets = {
${targets}
    }
    return ${open}split_and_scale(inputs, targets, scale_inputs=${scale_inputs},
                           scale_targets=${scale_targets})${close}
'''

# --- training helpers (mtl_studio/training/losses.py and trainer.py) -------------

L2_LOSS = '''
def l2_loss(y_true, y_pred):
    """Half the sum of squares over the batch, as tf.nn.l2_loss."""
    return tf.reduce_sum(tf.square(tf.cast(y_true, y_pred.dtype) - y_pred)) / 2.0
'''

COMPILED_STEP = '''
# XLA errors that mean "this model cannot be compiled", not "training failed".
XLA_ERRORS = (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError,
              tf.errors.InternalError)


class CompiledStep:
    """A training step compiled with XLA, as MTL Studio trains (faster on a
    CPU). A model XLA cannot compile fails at the first call, before any
    variable changes; the step then runs as plain TensorFlow. Under a
    tf.distribute strategy (--strategy) every replica runs the step on its
    share of the batch, compiled without XLA, as MTL Studio does."""

    def __init__(self, fn):
        self.fn = fn
        self.first = not tf.distribute.has_strategy() and uses_xla(PRECISION)
        if self.first:
            self.call = tf.function(fn, jit_compile=True)
        else:
            self.call = tf.function(replicated(fn))

    def __call__(self, *args):
        if self.first:
            self.first = False
            try:
                return self.call(*args)
            except XLA_ERRORS as error:
                print(f"XLA cannot compile this model ({str(error).splitlines()[0][:200]}); "
                      "training with plain TensorFlow")
                self.call = tf.function(self.fn)
        return self.call(*args)


def replicated(fn):
    """fn run by every replica of the strategy in force: each returns the
    same losses (the whole batch's), the first one's are taken."""
    strategy = tf.distribute.get_strategy()

    def run(*args):
        return strategy.experimental_local_results(strategy.run(fn, args=args))[0]

    return run


def check_replicas(batch):
    """Every replica of the strategy in force takes a share of each batch."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if batch < replicas:
        raise SystemExit(f"a batch of {batch} rows cannot be split across {replicas} "
                         f"replicas: use a BATCH_SIZE of at least {replicas}")


def weights_of(model, layer_names):
    """The trainable variables of the named layers, in the model's order."""
    wanted = {id(w) for name in layer_names for w in model.get_layer(name).trainable_weights}
    return [v for v in model.trainable_variables if id(v) in wanted]
'''

SOFT_SHARING = '''
def tied_weights(model):
    """For each weight of the shared trunk, its copy in every task's tower."""
    groups = []
    for names in TIED_LAYERS:
        groups.extend(zip(*(model.get_layer(name).trainable_weights for name in names)))
    return groups


def soft_sharing_penalty(groups):
    """SOFT_SHARING_LAMBDA times the squared distances between the copies of
    each trunk weight: it pulls the towers toward each other."""
    total = 0.0
    for group in groups:
        for a in range(len(group)):
            for b in range(a + 1, len(group)):
                total += tf.reduce_sum(tf.square(group[a] - group[b]))
    return SOFT_SHARING_LAMBDA * total
'''

# --- weighting (mtl_studio/training/weighting.py) --------------------------------

# What every joint step starts with: this replica's rows of the batch (all
# of them without a strategy) and what its task losses count for in the
# whole batch's (trainer.py's _joint_step).
LOCAL_ROWS = """\
        # This replica's rows of the batch (all of them without a strategy).
        rows, fraction = local_rows(tf.range(tf.shape(y[TASKS[0]])[0]))
        x = {name: tf.gather(values, rows) for name, values in x.items()}
        y = {task: tf.gather(values, rows) for task, values in y.items()}
        parts = loss_parts(SUMS_BATCH, fraction)
"""
# The forward pass, inside the tape: the whole batch's task losses.
FORWARD = """\
            out = model(x, training=True)
            losses = tf.stack([LOSSES[task](y[task], out[task]) for task in TASKS])
            losses = share(losses, parts)"""


class Weighting:
    """How one weighting strategy appears in the script: its step maker,
    the lines of train() that set it up, call the step and end an epoch,
    and the helpers it needs."""

    def __init__(
        self,
        doc: str,
        setup: str,
        step: str,
        helpers: tuple[str, ...] = (),
        call: str = "train_step(x, y)",
        epoch_end: str = "",
        shown: str = "",
    ) -> None:
        self.doc = doc  # what train() says of it
        self.setup = setup  # train() lines that make `train_step`
        self.step = step  # the make_train_step function
        self.helpers = helpers  # functions the step uses
        self.call = call  # the expression that runs one step
        self.epoch_end = epoch_end  # train() lines at each epoch end
        self.shown = shown  # the weights printed at each epoch end, if they change


def _step(
    doc: str,
    args: str,
    before: str,
    tape: str,
    after: str,
    persistent: bool = False,
    step_arg: str = "",
    after_apply: str = "",
) -> str:
    """A make_train_step function: `before` sets up (after the variables),
    `tape` computes the terms after the forward pass, `after` turns the
    tape into `grads`, `after_apply` follows the optimizer's update. Every
    gradient is the mean over the replicas (ReducedTape) and the update
    goes through apply_update, as in the Trainer's step."""
    record = "tf.GradientTape(persistent=True)" if persistent else "tf.GradientTape()"
    release = "        del tape, recording\n" if persistent else ""
    return (
        f"\n\ndef make_train_step(model, optimizer, {args}):\n"
        f'    """{doc}"""\n'
        f"{before}"
        f"\n    def train_step(x, y{step_arg}):\n"
        f"{LOCAL_ROWS}"
        f"        with {record} as recording:\n"
        f"{FORWARD}\n"
        f"{tape}"
        "        tape = ReducedTape(recording)  # each gradient: the mean over the replicas\n"
        f"{after}"
        f"{release}"
        f"        apply_update(optimizer, grads, variables)\n"
        f"{after_apply}"
        f"        return losses\n"
        f"\n    return CompiledStep(train_step)\n"
    )


def _penalty(soft: bool) -> str:
    """Soft sharing adds the penalty to the objective."""
    return " + soft_sharing_penalty(tied)" if soft else ""


def _variables(extra: str = "") -> str:
    return f"    variables = model.trainable_variables{extra}\n    optimizer.build(variables)\n"


def _tied(soft: bool) -> str:
    return "    tied = tied_weights(model)\n" if soft else ""


def weighted_sum(soft: bool, doc: str) -> str:
    """Fixed weights, and DWA's (a variable changed at each epoch end)."""
    return _step(
        doc,
        "weights",
        _variables() + _tied(soft),
        f"            total = tf.reduce_sum(weights * losses){_penalty(soft)}\n",
        "        grads = tape.gradient(total, variables)\n",
    )


def uncertainty(soft: bool) -> str:
    return _step(
        "One joint step with uncertainty weighting (Kendall et al. 2018): the\n"
        "    objective is sum_k exp(-s_k) L_k + s_k with learned log-variances s_k,\n"
        "    trained by the same optimizer; a task's weight is exp(-s_k).",
        "log_var",
        _variables(" + [log_var]") + _tied(soft),
        f"            total = tf.reduce_sum(tf.exp(-log_var) * losses + log_var){_penalty(soft)}\n",
        "        grads = tape.gradient(total, variables)\n",
    )


def gradnorm(soft: bool) -> str:
    before = (
        _variables()
        + _tied(soft)
        + """\
    last_shared = weights_of(model, LAST_SHARED_LAYERS)
    k = len(TASKS)
    initial_losses = tf.Variable(np.ones(k, np.float32), trainable=False)
    started = tf.Variable(False, trainable=False)
    # The weights have their own Adam optimizer at the project's learning rate.
    weight_optimizer = keras.optimizers.Adam(LEARNING_RATE)
    trained_weights = tf.Variable(weights.numpy(), trainable=True)
    weight_optimizer.build([trained_weights])
"""
    )
    tape = (
        "            per_task = [losses[i] for i in range(k)]\n"
        f"            total = tf.reduce_sum(weights * losses){_penalty(soft)}\n"
    )
    after = """\
        plain = tf.stop_gradient(losses)
        initial_losses.assign(tf.where(started, initial_losses, plain))  # the first step's
        started.assign(True)
        grads = tape.gradient(total, variables)
        norms = tf.stack([tf.linalg.global_norm(tape.gradient(loss, last_shared))
                          for loss in per_task])
        trained_weights.assign(weights)
        gradient = gradnorm_weight_gradient(weights, norms, plain, initial_losses,
                                            GRADNORM_ALPHA)
        apply_update(weight_optimizer, [gradient], [trained_weights])
        weights.assign(summing_to_k(trained_weights))
"""
    return _step(
        "One joint step with GradNorm (Chen et al. 2018): the task weights are\n"
        "    learned so that each task's gradient norm on the last shared layer,\n"
        "    G_k = w_k |grad L_k|, moves toward mean(G) r_k^alpha, r_k being the\n"
        "    task's relative inverse training rate.",
        "weights",
        before,
        tape,
        after,
        persistent=True,
    )


def pcgrad(soft: bool) -> str:
    tape = "            weighted = [weights[i] * losses[i] for i in range(len(TASKS))]\n"
    after = """\
        flat = tf.stack([flatten(tape.gradient(term, variables), variables)
                         for term in weighted])
        grads = unflatten(tf.reduce_sum(pcgrad_project(flat, step, SEED), axis=0), variables)
"""
    if soft:
        tape += "            penalty = soft_sharing_penalty(tied)\n"
        after += """\
        penalty_grads = tape.gradient(penalty, variables)
        grads = [g if p is None else g + p for g, p in zip(grads, penalty_grads)]
"""
    return _step(
        "One joint step with PCGrad (Yu et al. 2020): each task's weighted\n"
        "    gradient is projected off the gradients it conflicts with, then the\n"
        "    projections are summed.",
        "weights",
        _variables() + _tied(soft),
        tape,
        after,
        persistent=True,
        step_arg=", step",
    )


def shared_combination(
    soft: bool,
    doc: str,
    args: str,
    rows: str,
    coefficients: str,
    variables: str = "",
    step_arg: str = "",
) -> str:
    """A weighting on the shared trunk (weighting.py's SharedCombination):
    the `rows` lines (in the tape) make `rows`, the losses whose gradients
    on the shared trunk are combined, and `total`; the `coefficients` lines
    turn `flat` into `coefficients` and set the reported weights. The trunk
    takes the combination, the other parameters the gradient of `total`."""
    before = (
        _variables(variables)
        + _tied(soft)
        + """\
    shared_ids = {id(v) for v in weights_of(model, SHARED_LAYERS)}
    shared = [i for i, v in enumerate(variables) if id(v) in shared_ids]
    shared_variables = [variables[i] for i in shared]
"""
    )
    after = (
        """\
        flat = tf.stack([flatten(tape.gradient(row, shared_variables), shared_variables)
                         for row in rows])
"""
        + coefficients
        + """\
        combined = unflatten(tf.tensordot(coefficients, flat, axes=1), shared_variables)
        # The heads follow their own task's loss; the trunk the combination.
        grads = tape.gradient(total, variables)
        for n, i in enumerate(shared):
            grads[i] = combined[n]
"""
    )
    return _step(doc, args, before, rows, after, persistent=True, step_arg=step_arg)


def _weighted_rows(soft: bool) -> str:
    """The rows of the gradient methods on the weighted losses w_k L_k."""
    return (
        "            rows = [weights[i] * losses[i] for i in range(len(TASKS))]\n"
        f"            total = tf.reduce_sum(weights * losses){_penalty(soft)}\n"
    )


def mgda(soft: bool) -> str:
    return shared_combination(
        soft,
        "One joint step with MGDA (Sener and Koltun 2018): the shared trunk\n"
        "    moves along the min-norm convex combination of the task gradients\n"
        "    (alpha); each head takes its own task's gradient.",
        "weights, alpha",
        "            rows = [losses[i] for i in range(len(TASKS))]\n"
        f"            total = tf.reduce_sum(weights * losses){_penalty(soft)}\n",
        "        coefficients = min_norm_coefficients(flat)\n        alpha.assign(coefficients)\n",
    )


def cagrad(soft: bool) -> str:
    return shared_combination(
        soft,
        "One joint step with CAGrad (Liu et al. 2021): the shared trunk moves\n"
        "    along the mean of the weighted task gradients plus the direction, within\n"
        "    CAGRAD_C times its norm, that most helps the task it helps least (times\n"
        "    the number of tasks: the scale of the sum); each head takes its own\n"
        "    task's gradient.",
        "weights, reported",
        _weighted_rows(soft),
        "        coefficients = cagrad_coefficients(flat, CAGRAD_C)\n"
        "        reported.assign(coefficients * weights)\n",
    )


def imtl(soft: bool) -> str:
    return shared_combination(
        soft,
        "One joint step with IMTL (Liu et al. 2021), both parts: learned loss\n"
        "    scales e^s (the objective sum_k e^s_k L_k - s_k, IMTL-L, trained by the\n"
        "    same optimizer), and on the shared trunk IMTL-G's combination of the\n"
        "    scaled losses' gradients, whose projections on every task's unit\n"
        "    gradient are equal; each head takes its own scaled loss's gradient.",
        "log_scale, reported",
        "            scale = tf.exp(log_scale)\n"
        "            rows = [scale[i] * losses[i] for i in range(len(TASKS))]\n"
        f"            total = tf.reduce_sum(scale * losses - log_scale){_penalty(soft)}\n",
        "        coefficients = imtl_coefficients(flat)\n"
        "        reported.assign(coefficients * tf.exp(log_scale))\n",
        variables=" + [log_scale]",
    )


def gradvac(soft: bool) -> str:
    return shared_combination(
        soft,
        "One joint step with GradVac (Wang et al. 2021): each task's weighted\n"
        "    gradient on the shared trunk gains multiples of the others' until its\n"
        "    cosine with each reaches that pair's target, a moving average of the\n"
        "    cosines seen (GRADVAC_BETA); the trunk takes their sum, each head its\n"
        "    own task's gradient.",
        "weights, reported, targets",
        _weighted_rows(soft),
        "        coefficients, moved = gradvac_coefficients(flat, targets, GRADVAC_BETA, step, SEED)\n"
        "        targets.assign(moved)\n"
        "        reported.assign(coefficients * weights)\n",
        step_arg=", step",
    )


def aligned_mtl(soft: bool) -> str:
    return shared_combination(
        soft,
        "One joint step with Aligned-MTL (Senushkin et al. 2023): the weighted\n"
        "    task gradients on the shared trunk, their principal components aligned\n"
        "    (orthogonal, of one norm), summed; each head takes its own task's\n"
        "    gradient.",
        "weights, reported",
        _weighted_rows(soft),
        "        coefficients = aligned_mtl_coefficients(flat)\n"
        "        reported.assign(coefficients * weights)\n",
    )


def rlw(soft: bool) -> str:
    tape = "            penalty = soft_sharing_penalty(tied)\n" if soft else ""
    after = "        drawn = rlw_weights(len(TASKS), step, SEED) * weights\n"
    if soft:
        after += (
            "        grads = tape.gradient([losses, penalty], variables,\n"
            "                              output_gradients=[drawn, tf.ones_like(penalty)])\n"
        )
    else:
        after += "        grads = tape.gradient(losses, variables, output_gradients=drawn)\n"
    return _step(
        "One joint step with random loss weighting (Lin et al. 2022): the\n"
        "    objective is sum_k lambda_k w_k L_k, lambda new at each step.",
        "weights",
        _variables() + _tied(soft),
        tape,
        after,
        step_arg=", step",
    )


def famo(soft: bool) -> str:
    before = (
        _variables()
        + _tied(soft)
        + """\
    # The task logits have an Adam optimizer of their own.
    logit_optimizer = keras.optimizers.Adam(FAMO_LEARNING_RATE)
    logit_optimizer.build([logits])
"""
    )
    tape = (
        "            weights = tf.stop_gradient(famo_weights(logits, tf.stop_gradient(losses)))\n"
        f"            total = tf.reduce_sum(weights * losses){_penalty(soft)}\n"
    )
    after_apply = """\
        # The logits follow the change of the log losses on the same batch.
        out = model(x, training=True)
        new_losses = tf.stack([LOSSES[task](y[task], out[task]) for task in TASKS])
        new_losses = share(new_losses, parts)
        logit_gradient = famo_logit_gradient(logits, tf.stop_gradient(losses), new_losses,
                                             FAMO_WEIGHT_DECAY)
        apply_update(logit_optimizer, [logit_gradient], [logits])
"""
    return _step(
        "One joint step with FAMO (Liu et al. 2023): the update of\n"
        "    sum_k z_k log L_k (z = softmax of the task logits, normalised), then an\n"
        "    Adam step of the logits from the change of the log losses.",
        "logits",
        before,
        tape,
        "        grads = tape.gradient(total, variables)\n",
        after_apply=after_apply,
    )


# The setup of the weightings whose weights are reported as they are set.
REPORTED = "    reported = tf.Variable(np.asarray(TASK_WEIGHTS, np.float32), trainable=False)\n"


def _helpers(*functions) -> tuple[str]:
    return (source(*functions),)


def weighting(name: str, soft: bool) -> Weighting:
    """The script's pieces for a joint (or soft-sharing) weighting strategy."""
    if name == "fixed":
        return Weighting(
            "fixed task weights (the objective is sum_k w_k L_k)",
            "    train_step = make_train_step(model, optimizer, tf.constant(TASK_WEIGHTS))\n",
            weighted_sum(soft, "One joint step: the weighted sum of the task losses, one update."),
        )
    if name == "uncertainty":
        return Weighting(
            "uncertainty weighting (learned log-variances)",
            "    # The log-variances start where exp(-s) is each task's weight.\n"
            '    log_var = tf.Variable(-log_weights(TASK_WEIGHTS), name="log_variance")\n'
            "    train_step = make_train_step(model, optimizer, log_var)\n",
            uncertainty(soft),
            _helpers(weighting_math.log_weights),
            shown=", np.exp(-log_var.numpy())",
        )
    if name == "dwa":
        return Weighting(
            "dynamic weight average (weights follow the loss change rates)",
            "    # Dynamic weight average (Liu et al. 2019): the weights stay 1 for two\n"
            "    # epochs, then follow each task's rate of loss change.\n"
            "    weights = tf.Variable(np.ones(len(TASKS), np.float32), trainable=False)\n"
            "    history = []\n"
            "    train_step = make_train_step(model, optimizer, weights)\n",
            weighted_sum(soft, "One joint step: the weighted sum of the task losses, one update."),
            (source(weighting_math.dwa_weights),),
            epoch_end="        history.append([means[task] for task in TASKS])\n"
            "        if len(history) >= 2:\n"
            "            weights.assign(dwa_weights(history[-1], history[-2], "
            "DWA_TEMPERATURE))\n",
            shown=", weights.numpy()",
        )
    if name == "gradnorm":
        return Weighting(
            "GradNorm (learned weights balance the gradient norms)",
            "    weights = tf.Variable(summing_to_k(TASK_WEIGHTS), trainable=False)\n"
            "    train_step = make_train_step(model, optimizer, weights)\n",
            gradnorm(soft),
            _helpers(weighting_math.gradnorm_weight_gradient, weighting_math.summing_to_k),
            shown=", weights.numpy()",
        )
    if name == "pcgrad":
        return Weighting(
            "PCGrad (conflicting task gradients projected apart)",
            "    train_step = make_train_step(model, optimizer, tf.constant(TASK_WEIGHTS))\n",
            pcgrad(soft),
            _helpers(
                weighting_math.flatten,
                weighting_math.unflatten,
                weighting_math.uniform_draws,
                weighting_math.task_order,
                weighting_math.pcgrad_project,
            ),
            # The step number (1-based) seeds PCGrad's random order.
            call="train_step(x, y, tf.constant(step, tf.int64))",
        )
    if name == "mgda":
        return Weighting(
            "MGDA (the trunk follows a min-norm gradient combination)",
            "    alpha = tf.Variable(np.full(len(TASKS), 1.0 / len(TASKS), np.float32),\n"
            "                        trainable=False)\n"
            "    train_step = make_train_step(model, optimizer, tf.constant(TASK_WEIGHTS), "
            "alpha)\n",
            mgda(soft),
            _helpers(
                weighting_math.flatten,
                weighting_math.unflatten,
                weighting_math.min_norm_coefficients,
            ),
            shown=", alpha.numpy()",
        )
    shared = (weighting_math.flatten, weighting_math.unflatten)
    if name == "cagrad":
        return Weighting(
            "CAGrad (the trunk follows the mean gradient, steered off conflicts)",
            REPORTED
            + "    train_step = make_train_step(model, optimizer, tf.constant(TASK_WEIGHTS), "
            "reported)\n",
            cagrad(soft),
            _helpers(*shared, weighting_math.cagrad_coefficients),
            shown=", reported.numpy()",
        )
    if name == "imtl":
        return Weighting(
            "IMTL (learned loss scales, impartial gradients on the trunk)",
            "    # The log-scales start where e^s is each task's weight.\n"
            '    log_scale = tf.Variable(log_weights(TASK_WEIGHTS), name="log_scale")\n'
            + REPORTED
            + "    train_step = make_train_step(model, optimizer, log_scale, reported)\n",
            imtl(soft),
            _helpers(
                *shared,
                weighting_math.log_weights,
                weighting_math.gram_eigen,
                weighting_math.imtl_coefficients,
            ),
            shown=", reported.numpy()",
        )
    if name == "rlw":
        return Weighting(
            "RLW (random loss weights at each step)",
            "    train_step = make_train_step(model, optimizer, tf.constant(TASK_WEIGHTS))\n",
            rlw(soft),
            _helpers(weighting_math.uniform_draws, weighting_math.rlw_weights),
            # The step number (1-based) seeds the draw.
            call="train_step(x, y, tf.constant(step, tf.int64))",
        )
    if name == "gradvac":
        return Weighting(
            "GradVac (task gradients lifted toward their usual cosines)",
            REPORTED + "    # The cosine targets of each pair of tasks start at 0.\n"
            "    targets = tf.Variable(tf.zeros([len(TASKS), len(TASKS)]), trainable=False)\n"
            "    train_step = make_train_step(model, optimizer, tf.constant(TASK_WEIGHTS), "
            "reported,\n"
            "                                 targets)\n",
            gradvac(soft),
            _helpers(
                *shared,
                weighting_math.uniform_draws,
                weighting_math.task_order,
                weighting_math.gradvac_coefficients,
            ),
            call="train_step(x, y, tf.constant(step, tf.int64))",
            shown=", reported.numpy()",
        )
    if name == "aligned_mtl":
        return Weighting(
            "Aligned-MTL (the trunk's task gradients aligned, then summed)",
            REPORTED
            + "    train_step = make_train_step(model, optimizer, tf.constant(TASK_WEIGHTS), "
            "reported)\n",
            aligned_mtl(soft),
            _helpers(*shared, weighting_math.gram_eigen, weighting_math.aligned_mtl_coefficients),
            shown=", reported.numpy()",
        )
    if name == "famo":
        return Weighting(
            "FAMO (weights follow the tasks' rates of loss decrease)",
            "    # FAMO (Liu et al. 2023): the task logits start at log w (z = softmax).\n"
            '    logits = tf.Variable(log_weights(TASK_WEIGHTS), name="famo_logits")\n'
            "    train_step = make_train_step(model, optimizer, logits)\n",
            famo(soft),
            _helpers(
                weighting_math.log_weights,
                weighting_math.famo_gaps,
                weighting_math.famo_weights,
                weighting_math.famo_logit_gradient,
            ),
            shown=", tf.nn.softmax(logits).numpy()",
        )
    raise ValueError(f"unknown weighting {name!r}")


# --- tf.distribute (mtl_studio/training/distribute.py) ---------------------------


# The step under a strategy and making the strategy: MTL Studio's own code.
def precision_part(loss_scaled: bool) -> str:
    """The precision rules a script carries: when the step compiles with XLA
    and, for mixed_float16, the loss scale (training/precision.py)."""
    text = source(precision.uses_xla)
    if not loss_scaled:
        return text
    return (
        f"{text}\n\n\n"
        "# mixed_float16: dynamic loss scaling, one scale for the run.\n"
        f"INITIAL_SCALE = {precision.INITIAL_SCALE!r}\n"
        f"GROWTH_STEPS = {precision.GROWTH_STEPS!r}\n\n\n"
        + source(precision.LossScale, precision.ScaledTape)
        + LOSS_SCALE
    )


LOSS_SCALE = """

SCALES = []


def loss_scale():
    \"\"\"The run's LossScale, made at its first use: in the strategy's scope,
    as the first step is traced.\"\"\"
    if not SCALES:
        SCALES.append(LossScale())
    return SCALES[0]
"""


def loss_scaled(step: str) -> str:
    """A step's code with mixed_float16's loss scaling, as the Trainer's
    step has it (Trainer._tape, Trainer._update): gradients of the scaled
    loss, and the update skipped when they overflowed."""
    swaps = (
        ("tape = ReducedTape(recording)", "tape = loss_scale().tape(ReducedTape(recording))"),
        (
            "grads = ReducedTape(tape).gradient(",
            "grads = loss_scale().tape(ReducedTape(tape)).gradient(",
        ),
        (
            "apply_update(optimizer, grads, variables)",
            "loss_scale().apply(lambda: apply_update(optimizer, grads, variables))",
        ),
    )
    for old, new in swaps:
        step = step.replace(old, new)
    return step


# distribute.py's pieces every script carries, verbatim: the distributed
# step's and the making of a strategy.
DISTRIBUTED = (
    distribute.DistributionError,
    distribute.replica_context,
    distribute.local_rows,
    distribute.loss_parts,
    distribute.share,
    distribute.ReducedTape,
    distribute.apply_update,
    distribute.split_cpu,
    distribute.cluster_config,
    distribute.worker_of,
    distribute.new_distribution,
)
DISTRIBUTE = (
    "# A collective (an all-reduce) that waits longer than this for a worker\n"
    "# ends the run: the worker has died or is unreachable.\n"
    f"WORKER_TIMEOUT_SECONDS = {distribute.WORKER_TIMEOUT_SECONDS!r}\n\n\n" + source(*DISTRIBUTED)
)

# --- the training loops (mtl_studio/training/trainer.py) -------------------------

# The batches of each epoch: MTL Studio's own functions.
JOINT_BATCHES = source(batches.steps_per_epoch, batches.joint_batches)
ALTERNATING_BATCHES = source(batches.steps_per_epoch, batches.alternating_plan)

JOINT_TRAIN = '''
def train(model, data, epochs, max_steps):
    """${docstring}"""
    (train_x, train_y), val = data
    n = rows_of(train_x)
    batch = min(BATCH_SIZE, n)
    check_replicas(batch)
    steps = steps_per_epoch([n], [batch])
    optimizer = OPTIMIZER(learning_rate=LEARNING_RATE, **OPTIMIZER_OPTIONS)
${setup}    step_losses = []
    for epoch in range(epochs):
        epoch_losses = []
        for rows in joint_batches(SEED, epoch, n, batch, steps):
            x = {name: values[rows] for name, values in train_x.items()}
            y = {task: values[rows] for task, values in train_y.items()}
            step = len(step_losses) + 1
            losses = ${call}.numpy()
            for task, loss in zip(TASKS, losses):
                check_finite(loss, task, step)
            step_losses.append(losses)
            epoch_losses.append(losses)
            if step == max_steps:
                print(f"stopped after {max_steps} steps")
                return step_losses
        means = dict(zip(TASKS, np.mean(epoch_losses, axis=0)))
${epoch_end}        val_losses = validation_losses(model, val, batch)
        report(epoch, epochs, means, val_losses${shown})
    return step_losses
'''

ALTERNATING_TRAIN = '''
def make_train_step(model, k, optimizer, variables):
    """One step of task k: its weighted loss on its batch updates only the
    layers that feed it (the shared trunk and its head)."""
    task = TASKS[k]

    def train_step(x, y):
        # This replica's rows of the batch (all of them without a strategy).
        rows, fraction = local_rows(tf.range(tf.shape(y)[0]))
        x = {name: tf.gather(values, rows) for name, values in x.items()}
        y = tf.gather(y, rows)
        with tf.GradientTape() as tape:
            out = model(x, training=True)
            loss = share(LOSSES[task](y, out[task]), loss_parts(SUMS_BATCH[k], fraction))
            weighted = TASK_WEIGHTS[k] * loss
        grads = ReducedTape(tape).gradient(weighted, variables)
        apply_update(optimizer, grads, variables)
        return loss

    return CompiledStep(train_step)


def train(model, datasets, epochs, max_steps):
    """Alternating training: each step takes a batch of one task (SCHEDULE
    picks it) and updates the layers that feed it with the task's own
    optimizer. Returns each step's task losses (NaN for the tasks a step
    skips)."""
    sizes = [rows_of(train_x) for (train_x, _), _ in datasets]
    batch_sizes = [min(BATCH_SIZE, n) for n in sizes]
    check_replicas(min(batch_sizes))
    steps = steps_per_epoch(sizes, batch_sizes)
    task_data = [TASK_DATASET[task] for task in TASKS]
    train_steps = []
    for k, task in enumerate(TASKS):
        variables = weights_of(model, TASK_LAYERS[task])
        optimizer_class, learning_rate, options = TASK_OPTIMIZERS[task]
        optimizer = optimizer_class(learning_rate=learning_rate, **options)
        optimizer.build(variables)
        train_steps.append(make_train_step(model, k, optimizer, variables))
    step_losses = []
    for epoch in range(epochs):
        task_ids, batch_rows = alternating_plan(SEED, epoch, steps, SCHEDULE, SCHEDULE_WEIGHTS,
                                                task_data, sizes, batch_sizes)
        epoch_losses = {task: [] for task in TASKS}
        for k, rows in zip(task_ids, batch_rows):
            task = TASKS[k]
            d = TASK_DATASET[task]
            (train_x, train_y), _ = datasets[d]
            rows = rows[: batch_sizes[d]]
            x = {name: values[rows] for name, values in train_x.items()}
            step = len(step_losses) + 1
            loss = float(train_steps[k](x, train_y[task][rows]))
            check_finite(loss, task, step)
            losses = np.full(len(TASKS), np.nan)
            losses[k] = loss
            step_losses.append(losses)
            epoch_losses[task].append(loss)
            if step == max_steps:
                print(f"stopped after {max_steps} steps")
                return step_losses
        means = {task: np.mean(values) for task, values in epoch_losses.items() if values}
        val_losses = {}
        for d, (_, val) in enumerate(datasets):
            val_losses.update(validation_losses(model, val, batch_sizes[d]))
        report(epoch, epochs, means, val_losses)
    return step_losses
'''

REPORT = '''
def check_finite(loss, task, step):
    """Stop at the first loss that is not a number, as MTL Studio does."""
    if not np.isfinite(loss):
        raise SystemExit(f"the loss of task {task!r} became NaN or infinite at step {step}: "
                         "lower the learning rate, or standardise the data")


def validation_losses(model, val, batch):
    """Each task's loss on the validation rows (none without a validation split)."""
    val_x, val_y = val
    n = rows_of(val_y)
    if n == 0:
        return {}
    pred = predict(model, val_x)
    losses = {task: float(LOSSES[task](val_y[task], pred[task])) for task in val_y}
${batch_sum}    return losses


def predict(model, x, chunk=1024):
    """The model's outputs for the rows of x, `chunk` rows at a time (outside
    any replica: alike with or without a strategy)."""
    parts = []
    for start in range(0, rows_of(x), chunk):
        out = model({name: values[start:start + chunk] for name, values in x.items()},
                    training=False)
        parts.append({task: np.asarray(values) for task, values in out.items()})
    return {task: np.concatenate([p[task] for p in parts]) for task in parts[0]}


def report(epoch, epochs, train_losses, val_losses, weights=None):
    """One line per epoch: each task's mean training loss, validation loss
    and (when they change) weight."""
    def listed(values):
        return "  ".join(f"{task} {value:.4g}" for task, value in values.items())

    line = f"epoch {epoch + 1}/{epochs}  loss: {listed(train_losses)}"
    if val_losses:
        line += f"  | val loss: {listed(val_losses)}"
    if weights is not None:
        line += f"  | weights: {listed(dict(zip(TASKS, weights)))}"
    print(line, flush=True)
'''

BATCH_SUM = """\
    for task in BATCH_SUM_TASKS:  # a sum over the batch: scaled to one training batch
        if task in losses:
            losses[task] *= batch / n
"""

MAIN = '''

def write_losses(path, step_losses, model):
    """Each task's training loss per step (null where a step skipped the
    task), and the model's layer names: for comparisons with MTL Studio."""
    losses = np.array(step_losses, np.float64).reshape(-1, len(TASKS))
    data = {
        "tasks": TASKS,
        "losses": {task: [None if np.isnan(v) else float(v) for v in losses[:, k]]
                   for k, task in enumerate(TASKS)},
        "layers": [layer.name for layer in model.layers],
    }
    Path(path).write_text(json.dumps(data, indent=1), encoding="utf-8")


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of 1 or more, got {text}")
    return value


def distribution_of(args):
    """The tf.distribute strategy of --strategy, or None for TensorFlow's
    default device (MTL Studio's train command takes the same options)."""
    if (args.cluster is None) != (args.task_index is None):
        raise SystemExit("--cluster and --task-index go together")
    if args.cluster is not None and args.strategy != "multi-worker":
        raise SystemExit("--cluster needs --strategy multi-worker")
    try:
        return new_distribution(args.strategy, args.cpu_devices or 0, args.cluster,
                                args.task_index)
    except DistributionError as error:
        raise SystemExit(f"--strategy {args.strategy}: {error}") from None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--epochs", type=positive, default=EPOCHS, metavar="N",
                        help=f"epochs to train (default {EPOCHS})")
    parser.add_argument("--steps", type=positive, metavar="N",
                        help="stop after N training steps")
    parser.add_argument("--losses-json", type=Path, metavar="FILE",
                        help="write each task's loss per training step to FILE")
    parser.add_argument("--no-save", action="store_true",
                        help=f"do not save the trained model to {MODEL_FILE.name}")
    parser.add_argument("--strategy", choices=["default", "mirrored", "multi-worker"],
                        default=STRATEGY,
                        help="train on TensorFlow's default device, on every GPU (mirrored) or "
                             f"on the machines of a cluster (multi-worker) (default {STRATEGY})")
    parser.add_argument("--cpu-devices", type=positive, metavar="N",
                        help="--strategy mirrored without GPUs: split the CPU into N devices")
    parser.add_argument("--cluster", type=Path, metavar="FILE",
                        help="--strategy multi-worker: the cluster file, "
                             '{"worker": ["host:port", ...]}')
    parser.add_argument("--task-index", type=int, metavar="I",
                        help="--strategy multi-worker: this worker's index in the cluster file")
    args = parser.parse_args(argv)
    distribution = distribution_of(args)  # first: before TensorFlow places anything
    data = load_data()
    # Under a strategy the model, the optimizers and every variable are made
    # in its scope, so that each replica holds its copy.
    with (distribution or tf.distribute.get_strategy()).scope():
        model = build_model()
        step_losses = train(model, data, args.epochs, args.steps)
    worker, _ = worker_of() if args.strategy == "multi-worker" else (0, 1)
    if worker != 0:
        print(f"worker {worker}: done (the chief, worker 0, writes the files)")
        return
    if args.losses_json:
        write_losses(args.losses_json, step_losses, model)
    if not args.no_save:
        model.save(MODEL_FILE)
        print(f"saved the trained model to {MODEL_FILE}")


if __name__ == "__main__":
    main()
'''
