"""After a run: how good is each task on rows it never saw, and what does
the model say about a new file.

Both read a run folder and nothing else of the session: the project as it
was trained, summary.json (class labels, the best epoch) and the saved
model in real units (training/real_units.py), so they work on a run from
last week, from the command line, the window or a notebook alike.
"""

from __future__ import annotations

import copy
import csv
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.atomic import replacing
from ..core.fileformat import ProjectError, load
from ..core.project import Project
from ..data.blocks import blocks
from ..data.errors import DataError
from ..data.prepare import PreparedData, _input_array, inputs_of, load_source, prepare
from . import run_folder, scores
from .record import SUMMARY

EVALUATION_JSON = "evaluation.json"
EVALUATION_CSV = "evaluation.csv"
EVALUATION_ARRAYS = "evaluation.npz"  # regression truth and predictions, for the Results view
SPLITS = ("test", "val", "train")
MODELS = {"best": run_folder.MODEL_BEST, "last": run_folder.MODEL_LAST}
PREDICT_BATCH = 1024


class RunError(Exception):
    """The run folder (or its model) cannot be read: exit 2 on the command line."""


@dataclass
class Run:
    folder: Path
    project: Project
    summary: dict

    @property
    def classes(self) -> dict[str, list]:
        return self.summary.get("classes") or {}

    def model_path(self, which: str = "best") -> Path:
        """The saved model; "best" falls back to the last epoch's when the
        run kept no best (an older run, or one without validation)."""
        files = self.summary.get("files", {})
        name = files.get(f"model_{which}") or files.get("model_last")
        if not name:
            raise RunError(
                f"{self.folder}: the run saved no model (status "
                f"{self.summary.get('status', 'unknown')}): train it first"
            )
        return self.folder / name


def open_run(folder: Path) -> Run:
    folder = Path(folder)
    try:
        summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
        project = load(folder / run_folder.PROJECT_COPY)
        info = json.loads((folder / run_folder.RUN_INFO).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RunError(
            f"{folder}: not a finished run folder (no {Path(exc.filename).name})"
        ) from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{folder}: cannot read the run ({exc})") from None
    except ProjectError as exc:
        raise RunError(str(exc)) from None
    run_folder.find_moved_data(project, info.get("data_files", {}))
    return Run(folder, project, summary)


def load_model(path: Path):
    from .tf_import import keras  # noqa: PLC0415 - TensorFlow, lazily

    if not Path(path).exists():
        raise RunError(f"{path}: the run's model is missing: train the run again")
    if not zipfile.is_zipfile(path):  # Keras would call a damaged file "not found"
        raise RunError(f"{path}: not a readable .keras model (the file is damaged)")
    try:
        return keras().saving.load_model(path, safe_mode=True)
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: cannot load the model ({str(exc).splitlines()[0]})") from None


def _predict(model, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = model.predict(inputs, batch_size=PREDICT_BATCH, verbose=0)
    return {k: np.asarray(v) for k, v in out.items()}


# --- evaluate ------------------------------------------------------------------


def evaluate(
    run: Run, data: Path | None = None, split: str = "test", which: str = "best", write: bool = True
) -> dict:
    """Scores per task on a split of the run's data (or on every row of
    `data`), each beside the trivial predictor of the run's training rows.
    Raises DataError (the data does not fit) or RunError (unreadable)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}")
    own = prepare(run.project, None, scale=False, classes=run.classes)
    held = own if data is None else _prepare_file(run, Path(data))
    part = split if data is None else "train"  # a new file: every row
    note = ""
    if data is None and split == "test" and not any(d.test.n for d in own.datasets):
        part, note = (
            "val",
            (
                "the run has no test rows (test share 0): scored on the "
                "validation rows, which chose the best epoch"
            ),
        )
    model_path = run.model_path(which)
    model = load_model(model_path)
    tasks, arrays = {}, {}
    for dataset in held.datasets:
        rows = dataset.part(part)
        if rows.n == 0:
            continue
        predicted = _predict(model, rows.inputs)
        for task in dataset.tasks:
            loss = run.project.task(task).loss
            train = own.dataset_of(task).train.targets[task]
            tasks[task] = scores.task_scores(
                loss, rows.targets[task], predicted[task], train, run.classes.get(task)
            )
            if loss in scores.REGRESSION:  # for a predicted-against-actual plot
                arrays[f"{task}:truth"] = rows.targets[task].reshape(rows.n, -1)
                arrays[f"{task}:predicted"] = predicted[task].reshape(rows.n, -1)
    result = {
        "run": str(run.folder),
        "model": model_path.name,
        "best_epoch": (run.summary.get("best_epoch") or {}).get("epoch"),
        "data": str(data) if data else "the run's data",
        "split": part if data is None else "all rows",
        "note": note,
        "tasks": {t.name: tasks[t.name] for t in run.project.tasks if t.name in tasks},
    }
    if write:
        write_evaluation(run.folder, result, arrays)
    return result


def _prepare_file(run: Run, path: Path) -> PreparedData:
    """Every row of a new file, read with the run's column mapping and
    class labels."""
    project = _reading(run, path)
    project.training.validation_split = project.training.test_split = 0.0
    return prepare(project, None, scale=False, classes=run.classes)


def _reading(run: Run, path: Path) -> Project:
    """The run's project reading every data source from `path` instead:
    a .csv or .npz file, or for an image-folder run a CSV of image paths
    (relative to the CSV) mapped as the run's was."""
    project = copy.deepcopy(run.project)
    kind = path.suffix.lower().lstrip(".")
    images = project.data is not None and project.data.kind == "images"
    if images and kind != "csv":
        raise DataError("an image-folder run reads a .csv file of image paths", str(path))
    if kind not in ("csv", "npz"):
        raise DataError("evaluation data must be a .csv or .npz file", str(path))
    for source in [project.data] + [t.data for t in project.tasks]:
        if source is not None:
            source.kind = "images" if source.kind == "images" else kind
            source.path = str(path.resolve())
    return project


def write_evaluation(folder: Path, result: dict, arrays: dict[str, np.ndarray]) -> None:
    from .record import write_json  # noqa: PLC0415

    write_json(folder / EVALUATION_JSON, result)
    with replacing(folder / EVALUATION_CSV) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(scores.rows_for_csv(result["tasks"]))
    with replacing(folder / EVALUATION_ARRAYS, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)


def read_evaluation(folder: Path) -> tuple[dict, dict[str, np.ndarray]] | None:
    """The last evaluation written in the run folder and its regression
    tasks' (truth, predicted) arrays, or None when there is none (or it
    cannot be read: a new evaluation replaces it)."""
    try:
        result = json.loads((Path(folder) / EVALUATION_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    arrays = {}
    try:
        with np.load(Path(folder) / EVALUATION_ARRAYS, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, zipfile.BadZipFile):
        pass
    return result, arrays


# --- predict -------------------------------------------------------------------


def input_columns(project: Project) -> dict[str, list[str]]:
    """Input node name -> the columns that feed it, from the run's mapping
    (the project's data, or the first task data set that maps it)."""
    found: dict[str, list[str]] = {}
    owners = [(project.data, project.tasks)] if project.data is not None else []
    owners += [(t.data, [t]) for t in project.tasks if t.data is not None]
    for source, tasks in owners:
        for node in inputs_of(project, tasks):
            if node.name not in found and source.inputs.get(node.id):
                found[node.name] = list(source.inputs[node.id])
    return found


def output_columns(run: Run) -> list[str]:
    """The header of a prediction file: per regression task its target
    columns; per classification task its label and that label's probability."""
    header = []
    for task in run.project.tasks:
        if task.loss in scores.REGRESSION:
            header += list(task.target) or [task.name]
        else:
            header += [task.name, f"{task.name}_probability"]
    return header


def _rows(run: Run, out: dict[str, np.ndarray], n: int) -> list[list]:
    columns = []
    for task in run.project.tasks:
        values = (
            np.asarray(out[task.name]).reshape(n, -1)
            if task.loss in scores.REGRESSION
            else np.asarray(out[task.name])
        )
        if task.loss in scores.REGRESSION:
            names = list(task.target) or [task.name]
            if values.shape[1] != len(names):  # one column per output value
                names = [task.name]
                values = np.array([" ".join(f"{v:.7g}" for v in row) for row in values])[:, None]
            columns += [values[:, j] for j in range(len(names))]
        else:
            label, probability = _labels(values, task.loss, run.classes.get(task.name))
            columns += [label, probability]
    return [list(row) for row in zip(*columns)] if columns else [[] for _ in range(n)]


def _labels(p: np.ndarray, loss: str, labels: list | None):
    """The most probable class (its label) and its probability, per example;
    for a sequence of labels, the labels joined by spaces and the mean."""
    if loss == "binary_crossentropy":
        p = p.reshape(len(p), -1)
        ids = (p >= 0.5).astype(int)
        chosen = np.where(ids == 1, p, 1.0 - p)
    else:
        ids = p.argmax(axis=-1)
        chosen = np.take_along_axis(p, ids[..., None], axis=-1)[..., 0]
        ids, chosen = ids.reshape(len(p), -1), chosen.reshape(len(p), -1)
    names = [str(x) for x in labels] if labels else None
    text = [" ".join(names[i] if names and i < len(names) else str(i) for i in row) for row in ids]
    return np.array(text, dtype=object), chosen.mean(axis=1)


def predict_file(
    run: Run,
    data: Path,
    out: Path,
    which: str = "best",
    progress: Callable[[float, int], object] | None = None,
) -> int:
    """Write one row of predictions per row of `data`, in order, to `out`
    (a CSV written whole or not at all). Returns the number of rows.
    `progress(share, rows)` after each block; returning False cancels."""
    model = load_model(run.model_path(which))
    if run.project.data is not None and run.project.data.kind == "images":
        return _predict_images(run, model, Path(data), Path(out), progress)
    feeds = input_columns(run.project)
    dtypes = {n.name: n.params["dtype"] for n in run.project.input_nodes()}
    wanted = sorted({c for cols in feeds.values() for c in cols})
    done = 0
    try:
        with replacing(Path(out), suffix=".csv") as tmp:
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(output_columns(run))
                for start, columns, share in blocks(Path(data), wanted):
                    n = len(next(iter(columns.values()))) if columns else 0
                    if n == 0:
                        continue
                    inputs = {
                        name: _feed(columns, cols, dtypes[name], data, start)
                        for name, cols in feeds.items()
                    }
                    writer.writerows(_rows(run, _predict(model, inputs), n))
                    done += n
                    if progress is not None and progress(share, done) is False:
                        raise Cancelled()
    except OSError as exc:
        raise RunError(f"{out}: cannot write the predictions: {exc.strerror or exc}") from None
    return done


def _predict_images(run: Run, model, data: Path, out: Path, progress) -> int:
    """predict_file for an image-folder run: the images are checked and
    decoded as for training (they must fit in memory), then predicted."""
    project = _reading(run, data)
    table = load_source(project.data, None)
    inputs = {
        node.name: _input_array(table, project.data, node, "the file")
        for node in inputs_of(project, project.tasks)
    }
    n = table.n_rows
    try:
        with replacing(out, suffix=".csv") as tmp:
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(output_columns(run))
                writer.writerows(_rows(run, _predict(model, inputs), n))
    except OSError as exc:
        raise RunError(f"{out}: cannot write the predictions: {exc.strerror or exc}") from None
    if progress is not None:
        progress(1.0, n)
    return n


class Cancelled(Exception):
    """predict_file stopped at the caller's request; nothing was written."""


def _feed(columns: dict[str, np.ndarray], names: list[str], dtype: str, data, start) -> np.ndarray:
    arrays = [columns[c] for c in names]
    values = arrays[0] if len(names) == 1 and arrays[0].ndim >= 2 else np.stack(arrays, axis=1)
    if dtype == "int32":
        bad = values != np.round(values)
        if bad.any():
            i, j = np.argwhere(bad.reshape(len(values), -1))[0][:2]
            raise DataError(
                "not a whole number: the model takes integer ids here",
                str(data),
                column=names[min(j, len(names) - 1)],
                row=None if str(data).endswith(".npz") else start + i + 2,
            )
        return values.astype(np.int32)
    return values.astype(np.float32)
