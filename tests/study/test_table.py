"""The result table of a study (mtl_studio/study/table.py)."""

import csv
import math

import pytest

from mtl_studio.study.table import Cell, Row, ranked, summarize, to_csv, to_markdown

FIGURES = {"energy": "mae", "kind": "accuracy"}
HIGHER = {"energy": False, "kind": True}


def study_rows():
    """Two seeds of single-task baselines, one seed of two set-ups."""
    base_runs = [{"energy": 2.4, "kind": 0.78}, {"energy": 2.6, "kind": 0.82}]
    means = {"energy": 2.5, "kind": 0.8}
    baseline = summarize("each task alone", base_runs, means, FIGURES, HIGHER, is_baseline=True)
    shared = summarize("shared trunk", [{"energy": 2.0, "kind": 0.9}], means, FIGURES, HIGHER)
    worse = summarize("worse", [{"energy": 3.0, "kind": 0.7}], means, FIGURES, HIGHER)
    return [worse, baseline, shared]


def test_summarize_means_spreads_gains_and_delta_m():
    worse, baseline, shared = study_rows()
    assert baseline.cells["energy"].mean == pytest.approx(2.5)
    assert baseline.cells["energy"].std == pytest.approx(math.sqrt(0.02))  # sample std
    assert baseline.cells["energy"].gain is None
    # Per seed: +4 % - 2.5 % and -4 % + 2.5 %: delta-m 0.75 and -0.75.
    assert baseline.delta_m == pytest.approx(0.0, abs=1e-12)
    assert baseline.delta_m_std == pytest.approx(math.sqrt(2 * 0.75**2))
    assert (baseline.seeds, shared.seeds) == (2, 1)
    assert shared.cells == {
        "energy": Cell("mae", False, 2.0, 0.0, pytest.approx(20.0)),
        "kind": Cell("accuracy", True, 0.9, 0.0, pytest.approx(12.5)),
    }
    assert shared.delta_m == pytest.approx(16.25) and shared.delta_m_std == 0.0
    assert worse.delta_m == pytest.approx(-16.25)


def test_markdown_of_a_small_study():
    assert to_markdown(study_rows()) == (
        "| configuration | energy: mae ↓ | kind: accuracy ↑ | Δm % |\n"
        "| --- | --- | --- | --- |\n"
        "| each task alone (baseline) | 2.5 ± 0.1414 | 0.8 ± 0.02828 | +0.00 ± 1.06 |\n"
        "| shared trunk | 2 ± 0 (+20.0 %) | 0.9 ± 0 (+12.5 %) | +16.25 ± 0.00 |\n"
        "| worse | 3 ± 0 (-20.0 %) | 0.7 ± 0 (-12.5 %) | -16.25 ± 0.00 |\n"
    )


def test_csv_keeps_every_digit(tmp_path):
    path = tmp_path / "study.csv"
    to_csv(study_rows(), path)
    with open(path, newline="") as fh:
        lines = list(csv.reader(fh))
    assert lines[0] == [
        "configuration",
        "baseline",
        "seeds",
        "energy_mae_mean",
        "energy_mae_std",
        "energy_gain_percent",
        "kind_accuracy_mean",
        "kind_accuracy_std",
        "kind_gain_percent",
        "delta_m_percent_mean",
        "delta_m_percent_std",
    ]
    assert [line[0] for line in lines[1:]] == ["each task alone", "shared trunk", "worse"]
    base, shared = lines[1], lines[2]
    assert base[1:3] == ["True", "2"] and base[5] == ""  # no gain on the baseline
    assert float(base[4]) == pytest.approx(math.sqrt(0.02))
    assert shared[1:3] == ["False", "1"]
    assert [float(x) for x in shared[3:]] == pytest.approx(
        [2.0, 0.0, 20.0, 0.9, 0.0, 12.5, 16.25, 0.0]
    )


def cell(mean, gain=None):
    return {"a": Cell("mae", False, mean, 0.0, gain)}


def test_rows_rank_baseline_first_then_by_delta_m():
    rows = [
        Row("b", cell(1.0), 5.0),
        Row("nan", cell(1.0), float("nan")),
        Row("c", cell(1.0), 5.0),
        Row("base", cell(2.0), 0.0, baseline=True),
        Row("best", cell(0.5), 40.0),
        Row("bad", cell(3.0), -10.0),
    ]
    assert [r.name for r in ranked(rows)] == ["base", "best", "b", "c", "bad", "nan"]


def test_rows_of_other_tasks_or_figures_are_refused():
    base = Row("base", cell(2.0), 0.0, baseline=True)
    with pytest.raises(ValueError, match="row 'x' has tasks \\['b'\\]"):
        to_markdown([base, Row("x", {"b": Cell("mae", False, 1.0)}, 1.0)])
    with pytest.raises(ValueError, match="scores task 'a' by rmse"):
        to_markdown([base, Row("x", {"a": Cell("rmse", False, 1.0)}, 1.0)])
    with pytest.raises(ValueError, match="at least one row"):
        to_markdown([])


def test_a_bar_in_a_name_does_not_break_the_markdown_table():
    text = to_markdown([Row("a|b", cell(1.0), 0.0, baseline=True)])
    assert text.splitlines()[2] == "| a\\|b (baseline) | 1 ± 0 | +0.00 ± 0.00 |"


def test_a_run_without_a_task_is_refused():
    with pytest.raises(ValueError, match="shared: run 2 has no figure for task 'kind'"):
        summarize(
            "shared",
            [{"energy": 1.0, "kind": 0.5}, {"energy": 1.0}],
            {"energy": 2.0, "kind": 0.5},
            FIGURES,
            HIGHER,
        )
