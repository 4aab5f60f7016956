"""`mtl-studio evaluate` and `predict` on a real run of the mixed energy
example (a classification task and a regression task)."""

import csv
import json

import numpy as np
import pytest

from mtl_studio.cli import main
from mtl_studio.core.fileformat import dumps, load
from mtl_studio.examples import example_path

FEATURES = [
    "relative_compactness",
    "surface_area",
    "wall_area",
    "roof_area",
    "overall_height",
    "orientation",
    "glazing_area",
    "glazing_area_distribution",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("results")
    project = load(example_path("energy_mixed"))
    project.training.epochs = 2
    project.training.batch_size = 64
    project.data.path = str(example_path("energy_mixed").parent / project.data.path)
    path = folder / "mixed.mtl.json"
    path.write_text(dumps(project))
    out = folder / "run"
    assert main(["train", str(path), "--out", str(out)]) == 0
    return out


def data_rows(n=None):
    with open(example_path("energy").parent / "../data/energy_efficiency.csv") as f:
        rows = list(csv.DictReader(f))
    return rows[:n] if n else rows


def write(path, rows, columns):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def test_evaluate_scores_the_test_rows_beside_a_trivial_predictor(run, capsys):
    assert main(["evaluate", str(run)]) == 0
    printed = capsys.readouterr().out
    assert "on the run's test rows" in printed and "trivial" in printed
    result = json.loads((run / "evaluation.json").read_text())
    assert result["split"] == "test" and result["model"] == "model-best.keras"
    tall, heating = result["tasks"]["tall"], result["tasks"]["heating_load"]
    assert set(tall["figures"]) >= {"accuracy", "macro_f1", "log_loss"}
    assert set(heating["figures"]) == {"mae", "rmse", "r2"}
    assert tall["confusion"]["labels"] == ["3.5", "7.0"]
    n_test = round(768 * 0.15)
    assert tall["n"] == n_test and sum(map(sum, tall["confusion"]["matrix"])) == n_test
    # Real units: the trivial MAE is kWh/m^2 of the heating load (std ~10), not ~0.8.
    assert heating["figures"]["mae"]["trivial"] > 5
    rows = list(csv.reader((run / "evaluation.csv").open()))
    assert rows[0] == ["task", "figure", "model", "trivial", "beats_trivial"]
    assert len(rows) == 1 + len(tall["figures"]) + len(heating["figures"])


def test_evaluate_other_splits_models_and_files(run, tmp_path, capsys):
    assert main(["evaluate", str(run), "--split", "val", "--model", "last"]) == 0
    result = json.loads((run / "evaluation.json").read_text())
    assert result["split"] == "val" and result["model"] == "model-last.keras"
    assert result["tasks"]["tall"]["n"] == round(768 * 0.2)

    part = write(tmp_path / "part.csv", data_rows(30), FEATURES)  # no heating_load target
    assert main(["evaluate", str(run), "--data", str(part)]) == 1
    assert "column 'heating_load': missing column" in capsys.readouterr().err

    whole = write(tmp_path / "whole.csv", data_rows(30), FEATURES + ["heating_load"])
    # overall_height is both an input and the class target: all there.
    assert main(["evaluate", str(run), "--data", str(whole)]) == 0
    assert json.loads((run / "evaluation.json").read_text())["tasks"]["tall"]["n"] == 30


def test_evaluate_refuses_what_is_not_a_run(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "not a finished run folder" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path), "--data", str(tmp_path / "none.csv")]) == 2


def test_predict_writes_real_units_and_labels_in_row_order(run, tmp_path, monkeypatch):
    rows = data_rows(25)
    data = write(tmp_path / "in.csv", rows, ["extra"] + FEATURES)  # extra: ignored
    out = tmp_path / "out.csv"
    assert main(["predict", str(run), str(data), "--out", str(out)]) == 0
    got = list(csv.DictReader(out.open()))
    assert list(got[0]) == ["tall", "tall_probability", "heating_load"]
    assert len(got) == 25

    from mtl_studio.training.tf_import import keras

    model = keras().saving.load_model(run / "model-best.keras", safe_mode=True)
    from mtl_studio.training.evaluation import input_columns

    columns = input_columns(load(run / "project.mtl.json"))["design"]
    assert "overall_height" not in columns  # the class target is not an input
    x = np.array([[float(r[c]) for c in columns] for r in rows], np.float32)
    expected = model.predict({"design": x}, verbose=0)
    np.testing.assert_allclose(
        [float(r["heating_load"]) for r in got], expected["heating_load"][:, 0], rtol=1e-5
    )
    labels = np.array(["3.5", "7.0"])[expected["tall"].argmax(axis=1)]
    assert [r["tall"] for r in got] == labels.tolist()
    np.testing.assert_allclose(
        [float(r["tall_probability"]) for r in got], expected["tall"].max(axis=1), rtol=1e-5
    )

    # In blocks of 4 rows: the same file.
    import mtl_studio.data.blocks as blocks

    monkeypatch.setattr(blocks, "BLOCK_ROWS", 4)
    again = tmp_path / "again.csv"
    assert main(["predict", str(run), str(data), "--out", str(again)]) == 0
    blockwise = list(csv.DictReader(again.open()))
    assert [r["tall"] for r in blockwise] == [r["tall"] for r in got]
    np.testing.assert_allclose(
        [float(r["heating_load"]) for r in blockwise],
        [float(r["heating_load"]) for r in got],
        rtol=1e-5,
    )


def test_predict_names_a_bad_cell_and_a_missing_column_and_keeps_the_old_output(
    run, tmp_path, capsys
):
    rows = data_rows(6)
    rows[3] = dict(rows[3], glazing_area="n/a")
    data = write(tmp_path / "bad.csv", rows, FEATURES)
    out = tmp_path / "out.csv"
    out.write_text("kept\n")
    assert main(["predict", str(run), str(data), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "row 5, column 'glazing_area': not a number: 'n/a'" in err
    assert out.read_text() == "kept\n"  # written whole or not at all
    short = write(tmp_path / "short.csv", data_rows(3), FEATURES[1:])
    assert main(["predict", str(run), str(short), "--out", str(out)]) == 1
    assert "column 'relative_compactness': missing column" in capsys.readouterr().err


def test_a_damaged_or_missing_model_is_named(run, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    (copy / "model-best.keras").write_text("garbage")
    assert main(["evaluate", str(copy)]) == 2
    assert "not a readable .keras model (the file is damaged)" in capsys.readouterr().err
    (copy / "model-best.keras").unlink()
    assert main(["evaluate", str(copy)]) == 2
    assert "the run's model is missing" in capsys.readouterr().err
