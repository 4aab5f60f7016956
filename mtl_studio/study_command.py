"""`mtl-studio study`: does sharing help, and which weighting serves best?
The runs of a study one after the other, a line per run, then the table."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from .cli import EXIT_INTERRUPTED, EXIT_NAN, EXIT_OK, EXIT_PROBLEMS, CliError, open_project
from .core.validation import errors, validate


def study(args) -> int:
    from .study.runner import Stop, StudyError, run_study  # noqa: PLC0415 - TensorFlow

    project, path = open_project(args.project)
    problems = errors(validate(project))
    if problems:
        for p in problems:
            print(f"  error: {p.place}: {p.message}")
        print(f"{project.name}: no study: fix the errors above first")
        return EXIT_PROBLEMS
    weightings = [w for w in (args.weightings or "").split(",") if w]
    stop = Stop()

    def on_interrupt(signum, frame):
        print(
            "\nstopping the study after the current steps (Ctrl-C again to abort)...",
            file=sys.stderr,
        )
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def on_run(index, total, run, state):
        what = f"run {index + 1}/{total}: {run.configuration.name}, seed {run.seed}"
        print(f"{what}: {state}", file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        result = run_study(
            project,
            Path(args.out),
            baselines=args.baselines,
            weightings=weightings,
            seeds=args.seeds,
            epochs=args.epochs,
            on_run=on_run,
            stop=stop,
        )
    except (StudyError, ValueError) as exc:
        raise CliError(str(exc), EXIT_PROBLEMS) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    if result.rows:
        print(result.markdown)
        print(
            f"\n{args.out}: study.md and study.csv (gains and delta-m against the "
            f"{result.reference})"
        )
    for folder, message in result.failed.items():
        print(f"mtl-studio: {folder}: {message}", file=sys.stderr)
    if result.stopped:
        print(f"stopped: go on with the same command (--out {args.out})", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_NAN if result.failed else EXIT_OK
