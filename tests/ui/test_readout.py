"""The read-out's words, without a window (ui/readout.py)."""

from hypothesis import given
from hypothesis import strategies as st

from mtl_studio.ui.readout import readout_text


def values(table):
    return lambda key, with_raw: table.get(key)


def test_every_plot_and_one_plot():
    table = {
        ("train", "a"): "0.5 (raw 0.6)",
        ("val", "a"): "0.7",
        ("total", ""): "0.9",
        ("weight", "a"): "1",
        ("ratio", "a"): "0.25",
    }
    text = readout_text(["a", "b"], 12, "step", None, values(table), [])
    assert text == "step 12    a: 0.5 (raw 0.6), val 0.7    total: 0.9    weights: a 1"
    assert (
        readout_text(["a"], 1.5, "epoch", "overview", values(table), [])
        == "epoch 1.50    L/L(0): a 0.25    total: 0.9"
    )


@given(st.lists(st.one_of(st.floats(-1, 1), st.just(float("nan"))), min_size=1, max_size=30))
def test_cosines_most_opposed_first_and_at_most_six_named(cosines):
    pairs = [(v, (f"t{i}", f"u{i}")) for i, v in enumerate(cosines)]
    text = readout_text([], 3, "wall", "cosine", values({}), pairs)
    assert text.startswith("3.0 s    cosine: ")
    assert text.count("·") == min(6, len(pairs))
    if len(pairs) > 6:
        assert f"(+{len(pairs) - 6} more pairs)" in text
    finite = sorted(v for v in cosines if v == v)
    if finite:
        assert text.split("cosine: ")[1].split(" ")[1].rstrip(",") == f"{finite[0]:.4g}"
