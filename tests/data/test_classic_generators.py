"""The generators of the classic examples: the same seed gives the same
examples, the arrays have the shapes the examples map, and the rules the
data are said to follow (docs/data.md) hold on every example."""

import math

import numpy as np
import pytest

from mtl_studio.data import DataError, generate
from mtl_studio.data import generators as g
from mtl_studio.examples import resources_dir
from mtl_studio.export.script import generator_code

CLASSIC = ["support_tickets", "toy_sentences", "aging_shapes", "digit_strips"]


@pytest.mark.parametrize("name", CLASSIC)
def test_the_seed_gives_the_same_examples_and_another_seed_others(name):
    a = generate(name, {"examples": 40, "seed": 5})
    b = generate(name, {"examples": 40, "seed": 5})
    c = generate(name, {"examples": 40, "seed": 6})
    assert a.source == f"generator {name}"
    for key in a.columns:
        np.testing.assert_array_equal(a.columns[key], b.columns[key])
    assert any(not np.array_equal(a.columns[k], c.columns[k]) for k in a.columns)
    assert set(a.kinds.values()) == {"numeric"}


@pytest.mark.parametrize("name", CLASSIC)
def test_the_script_s_copy_of_the_generator_gives_the_same_examples(name):
    # An exported script carries the generator's source (export/script.py):
    # it must run on numpy, math and pathlib alone, constants included.
    code, function = generator_code(name)
    scope = {"np": np, "math": math, "Path": __import__("pathlib").Path}
    exec("def table_of(name, arrays):\n    return arrays\n" + code, scope)
    params = {spec.name: spec.default for spec in g.GENERATORS[name].params}
    params["examples"] = 30
    copied = scope[function](params)
    ours = generate(name, {"examples": 30})
    assert set(copied) == set(ours.columns)
    for key, values in ours.columns.items():
        np.testing.assert_allclose(copied[key], values, rtol=1e-6)


# --- support_tickets: Keras' two inputs, two outputs ---------------------------------


def test_tickets_department_and_priority_follow_both_inputs():
    t = generate("support_tickets", {"examples": 3000, "noise": 0.0, "seed": 1}).columns
    assert t["title"].shape == (3000, 8)
    assert {k: v.shape for k, v in t.items() if k != "title"} == {
        k: (3000,) for k in ("enterprise", "overdue", "usage", "department", "priority")
    }
    title = t["title"].astype(int)
    assert title.min() >= 1 and title.max() < 40  # an Embedding of 40 ids takes them
    words = g._ticket_words()
    groups = [words["billing"], words["technical"], words["sales"]]
    counts = np.stack([np.isin(title, ids).sum(axis=1) for ids in groups], axis=1)
    # One topic per title, named by 1 to 3 of its keywords.
    assert np.all((counts > 0).sum(axis=1) == 1)
    assert counts.sum(axis=1).min() == 1 and counts.sum(axis=1).max() == 3
    topic = counts.argmax(axis=1)
    overdue = t["overdue"]
    assert set(np.unique(overdue)) == {0, 1, 2, 3}
    expected = np.where(overdue >= 2, 0, topic)
    np.testing.assert_array_equal(t["department"], expected)
    # Both inputs matter: the text alone misses the overdue customers.
    assert 0.1 < np.mean(t["department"] != topic) < 0.3
    urgent = np.isin(title, words["urgent"]).sum(axis=1)
    assert set(np.unique(urgent)) == {0, 1, 2}
    np.testing.assert_allclose(
        t["priority"], 2 * urgent + 3 * t["enterprise"] + t["usage"], rtol=1e-5, atol=1e-5
    )


def test_tickets_noise_is_the_priority_s_spread_around_the_rule():
    t = generate("support_tickets", {"examples": 4000, "noise": 0.5}).columns
    words = g._ticket_words()
    urgent = np.isin(t["title"], words["urgent"]).sum(axis=1)
    rest = t["priority"] - (2 * urgent + 3 * t["enterprise"] + t["usage"])
    assert rest.std() == pytest.approx(0.5, rel=0.05)


# --- toy_sentences: a BiLSTM's sentence class and tags -------------------------------


def sentences(**params):
    t = generate("toy_sentences", {"examples": 2000, "seed": 2, **params}).columns
    return t["words"].astype(int), t["tags"].astype(int), t["sentiment"].astype(int)


def test_sentences_shapes_and_padding_at_the_end():
    words, tags, sentiment = sentences(length=10)
    assert words.shape == tags.shape == (2000, 10) and sentiment.shape == (2000,)
    lengths = (words > 0).sum(axis=1)
    assert lengths.min() == 4 and lengths.max() == 9  # 4 to length - 1 words
    # Words first, then padding; padding is tag 0 and nothing else is.
    filled = np.arange(10)[None, :] < lengths[:, None]
    np.testing.assert_array_equal(words > 0, filled)
    np.testing.assert_array_equal(tags > 0, filled)
    assert words.max() == 24 and tags.max() == 5
    assert set(np.unique(sentiment)) == {0, 1}


def test_sentence_tags_follow_the_word_groups_and_the_context():
    words, tags, _ = sentences()
    w = g._sentence_words()
    fixed = {1: w["det"], 2: w["plain_adj"] + w["good"] + w["bad"], 3: w["noun"], 4: w["verb"]}
    fixed[5] = w["not"]
    for tag, ids in fixed.items():
        assert np.all(tags[np.isin(words, ids)] == tag)
    # play, show, watch: a noun after a determiner or an adjective, a verb
    # after the subject; both happen.
    either = np.isin(words, w["either"])
    before = np.pad(tags, ((0, 0), (1, 0)))[:, :-1]
    assert np.all(tags[either & np.isin(before, [1, 2])] == 3)
    assert np.all(tags[either & (before == 3)] == 4)
    assert (tags[either] == 3).any() and (tags[either] == 4).any()


def test_sentence_sentiment_is_the_last_adjective_turned_round_by_not():
    words, tags, sentiment = sentences()
    w = g._sentence_words()
    last_adjective = np.array([row[np.flatnonzero(t == 2)[-1]] for row, t in zip(words, tags)])
    good = np.isin(last_adjective, w["good"])
    assert np.all(good | np.isin(last_adjective, w["bad"]))  # an opinion ends each sentence
    negated = (words == w["not"][0]).any(axis=1)
    np.testing.assert_array_equal(sentiment, good != negated)
    assert 0.4 < negated.mean() < 0.6
    # Opinion words before the subject do not count: they disagree with the
    # sentiment in some sentences.
    first = words[:, 1]
    assert np.any(np.isin(first, w["bad"]) & (sentiment == 1) & ~negated)


# --- aging_shapes: a CNN's category and age ------------------------------------------


def shapes(**params):
    t = generate("aging_shapes", {"examples": 2000, "noise": 0.0, "seed": 3, **params}).columns
    return t["image"][..., 0], t["kind"].astype(int), t["age"]


def test_shapes_shapes_and_ranges():
    t = generate("aging_shapes", {"examples": 100, "size": 20}).columns
    assert t["image"].shape == (100, 20, 20, 1)
    assert t["kind"].shape == t["age"].shape == (100,)
    assert 10 <= t["age"].min() and t["age"].max() < 70
    image, kind, _ = shapes()
    assert np.bincount(kind).tolist() == pytest.approx([500] * 4, abs=60)
    assert image.min() >= 0 and image.max() <= 1  # no noise: ink in [0, 1]


def test_shapes_age_makes_them_bigger_and_fainter():
    image, kind, age = shapes()
    a = (age - 10) / 60
    # The brightest pixel is the shape's brightness, 1 - 0.6 a.
    np.testing.assert_allclose(image.max(axis=(1, 2)), 1 - 0.6 * a, atol=1e-5)
    area = (image > 0.02).sum(axis=(1, 2))
    for k in range(4):
        assert np.corrcoef(area[kind == k], age[kind == k])[0, 1] > 0.95


def test_shapes_kind_is_the_shape_s_fill_of_its_box():
    # Ink over (brightness x the box of side 2 half-size): a square fills
    # it, a disc pi/4 of it, a cross 5/9 (two bars a third wide), a diamond half.
    image, kind, age = shapes()
    a = (age - 10) / 60
    half = 16 * (0.125 + 0.25 * a)
    fill = image.sum(axis=(1, 2)) / (1 - 0.6 * a) / (2 * half) ** 2
    expected = {0: 1.0, 1: math.pi / 4, 2: 0.5, 3: 5 / 9}
    for k, value in expected.items():
        assert fill[kind == k].mean() == pytest.approx(value, abs=0.04)


def test_shapes_noise_is_the_pixels_spread():
    clean = generate("aging_shapes", {"examples": 200, "noise": 0.0}).columns["image"]
    noisy = generate("aging_shapes", {"examples": 200, "noise": 0.1}).columns["image"]
    assert (noisy - clean).std() == pytest.approx(0.1, rel=0.05)


# --- digit_strips: multi-digit recognition from real handwriting ---------------------


def bundled_digits():
    rows = np.loadtxt(resources_dir() / "data" / "optdigits_8x8.csv", delimiter=",", skiprows=1)
    return rows[:, :64].reshape(-1, 8, 8) / 16, rows[:, 64].astype(int)


def test_the_bundled_digits_are_the_uci_file_with_its_licence_note():
    images, digits = bundled_digits()
    assert images.shape == (1797, 8, 8) and images.max() == 1
    assert np.bincount(digits).min() >= 170  # about 180 of each digit
    note = (resources_dir() / "data" / "README.md").read_text()
    assert "optdigits_8x8.csv" in note and "Creative Commons Attribution 4.0" in note


def test_strips_hold_real_digits_left_to_right_and_10_past_the_end():
    t = generate("digit_strips", {"examples": 300, "seed": 4}).columns
    strip, length = t["strip"][..., 0], t["length"].astype(int)
    assert strip.shape == (300, 8, 40) and t["strip"].shape[-1] == 1
    assert sorted(np.unique(length)) == [1, 2, 3, 4, 5]
    images, labels = bundled_digits()
    flat = images.reshape(len(images), -1)
    for i in range(300):
        for k in range(5):
            slot = strip[i, :, 8 * k : 8 * k + 8]
            digit = t[f"digit_{k + 1}"][i]
            if k < length[i]:
                # The slot is one of the bundled images, of the digit named.
                found = np.flatnonzero(np.all(np.isclose(flat, slot.ravel()), axis=1))
                assert len(found) and digit in labels[found]
            else:
                assert digit == 10 and not slot.any()


def test_strips_max_digits_sets_the_width_and_the_heads():
    t = generate("digit_strips", {"examples": 50, "max_digits": 3}).columns
    assert t["strip"].shape == (50, 8, 24, 1)
    assert set(t) == {"strip", "length", "digit_1", "digit_2", "digit_3"}
    assert t["length"].max() <= 3
    with pytest.raises(DataError, match="max_digits: expected an integer in \\[1, 8\\]"):
        generate("digit_strips", {"max_digits": 9})


def test_strip_lengths_are_drawn_evenly():
    length = generate("digit_strips", {"examples": 5000}).columns["length"]
    assert np.bincount(length.astype(int))[1:].tolist() == pytest.approx([1000] * 5, abs=100)


# --- the tutorial's data ---------------------------------------------------------------


def test_tutorial_uniform_high_scales_the_same_draws():
    # The tutorial feeds np.random.rand(...) * 10: the same draws, ten times;
    # projects without `high` keep their examples in [0, 1).
    ones = generate("tutorial_uniform", {"examples": 50, "seed": 2})
    tens = generate("tutorial_uniform", {"examples": 50, "seed": 2, "high": 10.0})
    for key in ("X", "Y1", "Y2"):
        np.testing.assert_allclose(tens.columns[key], 10 * ones.columns[key], rtol=1e-6)
        assert ones.columns[key].max() < 1 and 9 < tens.columns[key].max() < 10
    with pytest.raises(DataError, match="high: expected a number > 0, got 0"):
        generate("tutorial_uniform", {"high": 0})
