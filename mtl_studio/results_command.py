"""`mtl-studio evaluate` and `mtl-studio predict`: a run's held-out scores
beside a trivial predictor, and its model's answers for a new file."""

from __future__ import annotations

import sys
from pathlib import Path

from .cli import EXIT_OK, EXIT_PROBLEMS, CliError
from .data.errors import DataError


def _run(folder: str):
    from .training.evaluation import RunError, open_run  # noqa: PLC0415

    try:
        return open_run(Path(folder))
    except RunError as exc:
        raise CliError(str(exc)) from None


def evaluate(args) -> int:
    from .training import scores  # noqa: PLC0415
    from .training.evaluation import RunError, evaluate as score  # noqa: PLC0415

    run = _run(args.run)
    data = Path(args.data) if args.data else None
    if data is not None and not data.exists():
        raise CliError(f"{data}: no such file")
    try:
        result = score(run, data, args.split, args.model)
    except DataError as exc:
        raise CliError(str(exc), EXIT_PROBLEMS) from None
    except RunError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"{run.folder}: cannot write the evaluation: {exc}") from None
    names = {"test": "test rows", "val": "validation rows", "train": "training rows"}
    where = f"every row of {data}" if data else f"the run's {names[result['split']]}"
    best = f" (best epoch {result['best_epoch']})" if result["best_epoch"] else ""
    print(f"{run.folder.name}: {result['model']}{best} on {where}")
    if result["note"]:
        print(f"note: {result['note']}")
    print(scores.format_table(result["tasks"]))
    print(f"written to {run.folder / 'evaluation.json'} and evaluation.csv", file=sys.stderr)
    return EXIT_OK


def predict(args) -> int:
    from .training.evaluation import RunError, predict_file  # noqa: PLC0415

    run = _run(args.run)
    data = Path(args.data)
    if not data.exists():
        raise CliError(f"{data}: no such file")
    try:
        rows = predict_file(run, data, Path(args.out), args.model)
    except DataError as exc:
        raise CliError(str(exc), EXIT_PROBLEMS) from None
    except RunError as exc:
        raise CliError(str(exc)) from None
    print(f"{args.out}: {rows} rows predicted by {run.model_path(args.model).name}")
    return EXIT_OK
