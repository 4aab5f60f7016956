"""Built-in data generators: formulas from a tutorial and two papers, toy
data for classic multi-task networks, and strips of real handwritten digits.

Each one is reproducible from its seed, so a project that names a generator
and its parameters always trains on the same examples, and nothing but the
project file needs to be shared.

An exported training script carries a copy of the generator it uses and of
the helpers it calls (export/script.py): so each generator keeps its
constants inside its functions and uses numpy, math and pathlib only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.params import ParamSpec
from .errors import DataError
from .table import NUMERIC, Table


@dataclass(frozen=True)
class Generator:
    name: str
    description: str
    params: tuple[ParamSpec, ...]
    make: Callable[[dict], Table]  # checked parameters -> table
    # Checked parameters -> how many values making the table takes (its
    # arrays and the formula's own): refused above MAX_VALUES.
    values: Callable[[dict], int] = lambda p: p["examples"]


# Limits of the parameters (docs/project-format.md, "Limits"): checked when a
# project is read, so a file cannot ask for more than memory holds.
MAX_EXAMPLES = 10**7
MAX_SEED = 2**31 - 1  # what numpy and the window's spin boxes take
MAX_DIM = 10_000  # features, values per input or target
# Values (examples x values per example) one generated table may hold:
# 400 MB of float64.
MAX_VALUES = 5 * 10**7


def _examples(default: int = 1000) -> ParamSpec:
    return ParamSpec(
        "examples", "int", default, minimum=1, maximum=MAX_EXAMPLES, help="Number of examples."
    )


def _seed() -> ParamSpec:
    return ParamSpec(
        "seed",
        "int",
        0,
        minimum=0,
        maximum=MAX_SEED,
        help="The same seed always gives the same examples.",
    )


def _table(name: str, arrays: dict[str, np.ndarray]) -> Table:
    columns = {key: values.astype(np.float32) for key, values in arrays.items()}
    return Table(columns, {key: NUMERIC for key in columns}, f"generator {name}")


# --- the classic TensorFlow multi-task tutorial --------------------------------


def _tutorial_uniform(p: dict) -> Table:
    """X, Y1 and Y2 uniform in [0, high): the tutorial feeds
    np.random.rand(10, 10) * 10 (high 10), fresh for every step."""
    rng = np.random.default_rng(p["seed"])
    n, high = p["examples"], p["high"]
    return _table(
        "tutorial_uniform",
        {
            "X": high * rng.random((n, 10)),
            "Y1": high * rng.random((n, 20)),
            "Y2": high * rng.random((n, 20)),
        },
    )


# --- MMoE: two regression tasks of a chosen correlation ------------------------


def _orthonormal_pair(rng: np.random.Generator, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Two orthogonal unit vectors: Gram-Schmidt on two Gaussian vectors."""
    g1, g2 = rng.normal(size=(2, d))
    u1 = g1 / np.linalg.norm(g1)
    v = g2 - (g2 @ u1) * u1
    return u1, v / np.linalg.norm(v)


def _correlated_regression(p: dict) -> Table:
    """Ma et al. 2018 (MMoE), section 3.2. The cosine of w1 and w2 is the
    correlation p, so w1.x and w2.x correlate by p; the sine terms (shared by
    both tasks, as in the paper) make the labels' correlation a little lower."""
    rng = np.random.default_rng(p["seed"])
    c, rho = p["scale"], p["correlation"]
    u1, u2 = _orthonormal_pair(rng, p["features"])
    weights = (c * u1, c * (rho * u1 + math.sqrt(1 - rho * rho) * u2))
    alpha = rng.normal(size=p["sin_terms"])
    beta = rng.normal(size=p["sin_terms"])
    x = rng.normal(size=(p["examples"], p["features"]))
    arrays = {"X": x}
    for k, w in enumerate(weights, start=1):
        wx = x @ w
        y = wx + np.sin(np.outer(wx, alpha) + beta).sum(axis=1)
        y += rng.normal(0.0, p["noise"], size=len(x))
        arrays[f"y{k}"] = y[:, None]
    return _table("correlated_regression", arrays)


# --- GradNorm: regression tasks of very different scales -----------------------


def _scale_regression(p: dict) -> Table:
    """Chen et al. 2018 (GradNorm), section 5.1: f_i(x) = sigma_i tanh((B + eps_i) x).

    Kept literal: the paper draws B from N(0, 10) and eps_i from N(0, 3.5),
    read here as variances (std sqrt(10) and sqrt(3.5)), and scales nothing.
    With 250 inputs the pre-activations have a std near 60, so tanh saturates
    for most units and each output is close to +-sigma_i: the tasks differ
    mainly in scale, which is what the toy is for.
    """
    rng = np.random.default_rng(p["seed"])
    shape = (p["output_dim"], p["input_dim"])
    b = rng.normal(0.0, math.sqrt(10.0), size=shape)
    tasks = p["tasks"]
    # Spread geometrically from 1 to sigma_max, so the scales are evenly
    # spaced on a log axis; one task has scale 1.
    sigmas = np.geomspace(1.0, p["sigma_max"], tasks) if tasks > 1 else np.ones(1)
    eps = [rng.normal(0.0, math.sqrt(3.5), size=shape) for _ in range(tasks)]
    x = rng.normal(size=(p["examples"], p["input_dim"]))
    arrays = {"X": x}
    for i in range(tasks):
        arrays[f"y{i + 1}"] = sigmas[i] * np.tanh(x @ (b + eps[i]).T)
    return _table("scale_regression", arrays)


# --- Keras' multi-input, multi-output model: support tickets -------------------


def _ticket_words() -> dict:
    """The ticket titles' vocabulary: word ids by group (0 is never used)."""
    return {
        "billing": [1, 2, 3, 4],  # invoice, refund, charge, payment
        "technical": [5, 6, 7, 8],  # error, crash, login, slow
        "sales": [9, 10, 11, 12],  # price, upgrade, quote, demo
        "urgent": [13, 14, 15],  # urgent, asap, down
        "filler": list(range(16, 40)),
    }


def _support_tickets(p: dict) -> Table:
    """Keras' functional API guide, scaled down: a ticket's title (word ids)
    and its customer (numbers) give a department (a class) and a priority
    (a score). The title is about one topic (1 to 3 of its keywords) and
    holds 0 to 2 urgent words among filler words. Department: billing (0)
    for a customer with 2 or more overdue invoices, else the title's topic
    (0 billing, 1 technical, 2 sales). Priority: 2 per urgent word, 3 for
    an enterprise customer, plus the customer's usage, plus noise."""
    rng = np.random.default_rng(p["seed"])
    n, length = p["examples"], p["words"]
    words = _ticket_words()
    topics = [words["billing"], words["technical"], words["sales"]]
    topic = rng.integers(0, 3, n)
    keywords = rng.integers(1, 4, n)
    urgent = rng.integers(0, 3, n)
    title = rng.choice(words["filler"], size=(n, length))
    for i in range(n):
        slots = rng.permutation(length)[: keywords[i] + urgent[i]]
        title[i, slots[: keywords[i]]] = rng.choice(topics[topic[i]], keywords[i])
        title[i, slots[keywords[i] :]] = rng.choice(words["urgent"], urgent[i])
    enterprise = (rng.random(n) < 0.3).astype(np.float64)
    overdue = rng.choice(4, size=n, p=[0.5, 0.25, 0.15, 0.1]).astype(np.float64)
    usage = rng.random(n)
    department = np.where(overdue >= 2, 0, topic)
    priority = 2.0 * urgent + 3.0 * enterprise + usage + rng.normal(0.0, p["noise"], n)
    return _table(
        "support_tickets",
        {
            "title": title,
            "enterprise": enterprise,
            "overdue": overdue,
            "usage": usage,
            "department": department,
            "priority": priority,
        },
    )


# --- a BiLSTM tagger: toy sentences with a sentiment and a tag per word ---------


def _sentence_words() -> dict:
    """The toy sentences' vocabulary: word ids by group (0 pads a sentence)."""
    return {
        "det": [1, 2, 3],  # the, a, this
        "plain_adj": [4, 5, 6, 7],  # big, small, red, old
        "good": [8, 9, 10],  # good, happy, great
        "bad": [11, 12, 13],  # bad, sad, awful
        "noun": [14, 15, 16, 17],  # dog, cat, film, meal
        "verb": [18, 19, 20],  # is, seems, looks
        "either": [21, 22, 23],  # play, show, watch: a noun or a verb
        "not": [24],
    }


def _toy_sentences(p: dict) -> Table:
    """Sentences "DET ADJ* SUBJECT VERB [not] OPINION", padded with 0 to
    `length` words. Tags per word: 0 pad, 1 determiner, 2 adjective, 3 noun,
    4 verb, 5 not. Sentiment: 1 when the opinion (the last adjective, after
    the verb) is a good word, else 0, the other way round after "not".
    The words play, show and watch are a noun as the subject and a verb
    after it, so tags need context; adjectives before the subject (good or
    bad ones too) do not count, so the sentiment needs the word order."""
    rng = np.random.default_rng(p["seed"])
    n, length = p["examples"], p["length"]
    w = _sentence_words()
    adjectives = w["plain_adj"] + w["good"] + w["bad"]
    words = np.zeros((n, length))
    tags = np.zeros((n, length))
    sentiment = np.zeros(n)
    for i in range(n):
        sentence = [(rng.choice(w["det"]), 1)]
        for _ in range(rng.integers(0, length - 5)):
            sentence.append((rng.choice(adjectives), 2))
        sentence.append((rng.choice(w["noun"] + w["either"]), 3))
        sentence.append((rng.choice(w["verb"] + w["either"]), 4))
        negated = rng.random() < 0.5
        if negated:
            sentence.append((w["not"][0], 5))
        good = rng.random() < 0.5
        sentence.append((rng.choice(w["good"] if good else w["bad"]), 2))
        words[i, : len(sentence)] = [word for word, _ in sentence]
        tags[i, : len(sentence)] = [tag for _, tag in sentence]
        sentiment[i] = float(good != negated)
    return _table("toy_sentences", {"words": words, "tags": tags, "sentiment": sentiment})


# --- a CNN with a category head and an age head: shapes that age ----------------


def _aging_shapes(p: dict) -> Table:
    """Grey images of one shape each: its kind is the category (0 square,
    1 disc, 2 diamond, 3 cross) and its age in years (10 to 70) is how big,
    faint and blurred it is. With a = (age - 10) / 60 in [0, 1): half-size
    size * (0.125 + 0.25 a) pixels, brightness 1 - 0.6 a, an edge 0.5 + 1.5 a
    pixels soft; the centre is placed at random where the shape fits, and
    Gaussian pixel noise is added."""
    rng = np.random.default_rng(p["seed"])
    n, size = p["examples"], p["size"]
    kind = rng.integers(0, 4, n)
    age = 10.0 + 60.0 * rng.random(n)
    a = (age - 10.0) / 60.0
    half = size * (0.125 + 0.25 * a)
    cx = half + rng.random(n) * (size - 1 - 2 * half)
    cy = half + rng.random(n) * (size - 1 - 2 * half)
    grid = np.arange(size, dtype=np.float64)
    dx = np.abs(grid[None, None, :] - cx[:, None, None])
    dy = np.abs(grid[None, :, None] - cy[:, None, None])
    near, far = np.minimum(dx, dy), np.maximum(dx, dy)
    # Each shape is the set where its distance is at most the half-size.
    distance = np.select(
        [kind[:, None, None] == k for k in range(4)],
        [far, np.hypot(dx, dy), dx + dy, np.maximum(3.0 * near, far)],
    )
    edge = (0.5 + 1.5 * a)[:, None, None]
    ink = np.clip((half[:, None, None] - distance) / edge + 0.5, 0.0, 1.0)
    image = (1.0 - 0.6 * a)[:, None, None] * ink
    image = image + rng.normal(0.0, p["noise"], image.shape)
    return _table("aging_shapes", {"image": image[..., None], "kind": kind, "age": age})


# --- multi-digit recognition: strips of real handwritten digits -----------------


def _optdigits() -> tuple:
    """The bundled handwritten digits (resources/data/optdigits_8x8.csv, UCI,
    CC BY 4.0): images (1797, 8, 8) with ink in [0, 1], and their digits.
    An exported script without MTL Studio reads the file beside it."""
    try:
        from mtl_studio.examples import resources_dir

        path = resources_dir() / "data" / "optdigits_8x8.csv"
    except ImportError:
        path = Path(__file__).resolve().parent / "optdigits_8x8.csv"
    rows = np.loadtxt(path, delimiter=",", skiprows=1)
    return rows[:, :64].reshape(-1, 8, 8) / 16.0, rows[:, 64]


def _digit_strips(p: dict) -> Table:
    """Strips of 8 x (8 * max_digits) pixels, as in multi-digit recognition
    (Goodfellow et al. 2014), composed of real handwritten digits: each strip
    holds 1 to max_digits digits (each length about as often), drawn at random
    from the bundled 1,797, side by side from the left; the rest is blank.
    Targets: length (the number of digits) and digit_1 .. digit_N, the digit
    at each position, or 10 (no digit) past the end."""
    rng = np.random.default_rng(p["seed"])
    n, most = p["examples"], p["max_digits"]
    images, digits = _optdigits()
    length = rng.integers(1, most + 1, n)
    picked = rng.integers(0, len(images), (n, most))
    used = np.arange(most)[None, :] < length[:, None]
    strip = np.where(used[:, None, :, None], images[picked].transpose(0, 2, 1, 3), 0.0)
    arrays = {"strip": strip.reshape(n, 8, 8 * most, 1), "length": length}
    for k in range(most):
        arrays[f"digit_{k + 1}"] = np.where(used[:, k], digits[picked[:, k]], 10)
    return _table("digit_strips", arrays)


GENERATORS: dict[str, Generator] = {
    g.name: g
    for g in (
        Generator(
            "tutorial_uniform",
            "The classic TensorFlow multi-task tutorial: X (10 values) and two "
            "targets Y1, Y2 (20 values each), all uniform in [0, high).",
            (
                _examples(),
                ParamSpec(
                    "high",
                    "float",
                    1.0,
                    minimum=0.0,
                    min_inclusive=False,
                    help="Values are drawn from [0, high); the tutorial uses 10.",
                ),
                _seed(),
            ),
            _tutorial_uniform,
            lambda p: 50 * p["examples"],  # X (10), Y1 and Y2 (20 each)
        ),
        Generator(
            "correlated_regression",
            "Two regression tasks whose correlation you choose (MMoE, Ma et al. "
            "2018): X (features values), targets y1 and y2.",
            (
                _examples(),
                ParamSpec(
                    "features", "int", 100, minimum=2, maximum=MAX_DIM, help="Input dimension d."
                ),
                ParamSpec(
                    "correlation",
                    "float",
                    0.5,
                    minimum=-1.0,
                    maximum=1.0,
                    help="Cosine of the two tasks' weight vectors.",
                ),
                ParamSpec(
                    "scale",
                    "float",
                    1.0,
                    minimum=0.0,
                    min_inclusive=False,
                    help="Length c of the weight vectors.",
                ),
                ParamSpec(
                    "sin_terms",
                    "int",
                    10,
                    minimum=0,
                    maximum=1000,
                    help="Number m of sine terms that make the tasks non-linear.",
                ),
                ParamSpec(
                    "noise",
                    "float",
                    0.01,
                    minimum=0.0,
                    help="Standard deviation of the label noise.",
                ),
                _seed(),
            ),
            _correlated_regression,
            lambda p: p["examples"] * (p["features"] + p["sin_terms"] + 2),
        ),
        Generator(
            "scale_regression",
            "Regression tasks of very different scales (GradNorm, Chen et al. 2018): "
            "X (input_dim values), targets y1 .. yT (output_dim values each).",
            (
                _examples(),
                ParamSpec("tasks", "int", 2, minimum=1, maximum=100, help="Number of tasks T."),
                ParamSpec(
                    "input_dim", "int", 250, minimum=1, maximum=MAX_DIM, help="Values per input."
                ),
                ParamSpec(
                    "output_dim", "int", 100, minimum=1, maximum=MAX_DIM, help="Values per target."
                ),
                ParamSpec(
                    "sigma_max",
                    "float",
                    100.0,
                    minimum=0.0,
                    min_inclusive=False,
                    help="Scale of the last task; the first has scale 1.",
                ),
                _seed(),
            ),
            _scale_regression,
            lambda p: (
                p["examples"] * (p["input_dim"] + p["tasks"] * p["output_dim"])
                + (p["tasks"] + 1) * p["output_dim"] * p["input_dim"]
            ),
        ),
        Generator(
            "support_tickets",
            "Keras' two-input, two-output example: a ticket's title (word ids) and "
            "its customer (enterprise, overdue, usage) give its department (3 classes) "
            "and its priority (a score).",
            (
                _examples(2000),
                ParamSpec("words", "int", 8, minimum=4, maximum=1000, help="Words per title."),
                ParamSpec(
                    "noise",
                    "float",
                    0.2,
                    minimum=0.0,
                    help="Standard deviation of the noise on the priority.",
                ),
                _seed(),
            ),
            _support_tickets,
            lambda p: p["examples"] * (p["words"] + 5),
        ),
        Generator(
            "toy_sentences",
            "Toy sentences for a BiLSTM: words (ids, 0 pads), a tag per word "
            "(6 classes) and the sentence's sentiment (2 classes).",
            (
                _examples(2000),
                ParamSpec(
                    "length",
                    "int",
                    8,
                    minimum=6,
                    maximum=1000,
                    help="Words per sentence, padding included: sentences have 4 to "
                    "length - 1 words.",
                ),
                _seed(),
            ),
            _toy_sentences,
            lambda p: p["examples"] * (2 * p["length"] + 1),
        ),
        Generator(
            "aging_shapes",
            "Grey images of a shape: its kind (4 classes) and its age in years (10 to "
            "70), which makes it bigger, fainter and blurrier.",
            (
                _examples(2000),
                ParamSpec(
                    "size", "int", 16, minimum=8, maximum=512, help="Image height and width."
                ),
                ParamSpec(
                    "noise",
                    "float",
                    0.05,
                    minimum=0.0,
                    help="Standard deviation of the pixel noise.",
                ),
                _seed(),
            ),
            _aging_shapes,
            lambda p: p["examples"] * (p["size"] ** 2 + 2),
        ),
        Generator(
            "digit_strips",
            "Strips of 1 to max_digits real handwritten digits (UCI optdigits, bundled): "
            "the strip (8 x 8 max_digits pixels), its length, and the digit at each "
            "position (10: none).",
            (
                _examples(2000),
                ParamSpec(
                    "max_digits", "int", 5, minimum=1, maximum=8, help="Digits per strip, at most."
                ),
                _seed(),
            ),
            _digit_strips,
            lambda p: p["examples"] * (65 * p["max_digits"] + 1),
        ),
    )
}


def unknown_generator(name: str) -> str | None:
    """Why `name` names no generator (validation says it before training),
    or None."""
    if name in GENERATORS:
        return None
    known = ", ".join(GENERATORS)
    if not name:
        return f"no generator is chosen: choose one of {known}"
    return f"unknown generator {name!r}: choose one of {known}"


def generate(name: str, params: dict) -> Table:
    """The generator's table, after filling defaults and checking parameters."""
    generator = GENERATORS.get(name)
    if generator is None:
        raise DataError(unknown_generator(name))
    where = f"generator '{name}'"
    specs = {spec.name: spec for spec in generator.params}
    for key in params:
        if key not in specs:
            raise DataError(
                f"{where}: there is no parameter {key!r} "
                f"(parameters: {', '.join(specs)}): remove it"
            )
    clean = {}
    for spec in generator.params:
        try:
            clean[spec.name] = spec.check(params.get(spec.name, spec.default))
        except ValueError as exc:
            raise DataError(f"{where}: parameter {spec.name}: {exc}") from None
    values = generator.values(clean)
    if values > MAX_VALUES:
        raise DataError(
            f"{where}: these parameters make {values} values, more than a generated data "
            f"set holds ({MAX_VALUES}): lower examples or the sizes"
        )
    try:
        return generator.make(clean)
    except MemoryError:
        raise DataError(f"{where}: not enough memory for {values} values: lower examples") from None
