"""`mtl-studio study`: does sharing help, and which weighting serves best?
The runs of a study one after the other, a line per run, then the table;
with --search-weights, the loss-weight search (study/search.py) after them
or instead of them, in this process and --workers - 1 more."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from .cli import EXIT_INTERRUPTED, EXIT_NAN, EXIT_OK, EXIT_PROBLEMS, CliError, open_project
from .core.validation import errors, validate
from .training import events as ev


class StudyBar:
    """The whole study's progress on stderr: on a terminal one line redrawn
    in place (a bar over all the runs, the run under way and its epoch),
    elsewhere a line as each run starts and ends (logs stay readable)."""

    WIDTH = 24

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.done, self.total, self.what = 0, 1, ""

    def run(self, index: int, total: int, run, state: str) -> None:
        self.total = total
        self.what = f"run {index + 1}/{total}: {run.configuration.name}, seed {run.seed}"
        # The runs before this one are done (or were, before a resume).
        self.done = index if state == "training" else index + 1
        if self.tty:
            self._draw(state if state != "training" else "")
            if state != "training":
                self.stream.write("\n")
        else:
            self.stream.write(f"{self.what}: {state}\n")
        self.stream.flush()

    def progress(self, batch) -> None:
        if not self.tty:
            return
        for e in batch:
            if isinstance(e, ev.Progress):
                share = (self.done + e.step / max(1, e.total_steps)) / self.total
                self._draw(f"epoch {e.epoch}/{e.epochs}", share)

    def _draw(self, text: str, share: float | None = None) -> None:
        share = self.done / self.total if share is None else share
        filled = int(self.WIDTH * min(1.0, share))
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\rstudy [{bar}] {self.what} {text}"[:160].ljust(100))
        self.stream.flush()


def study(args) -> int:
    from .study.runner import Stop, StudyError, run_study  # noqa: PLC0415 - TensorFlow

    _check_search_arguments(args)
    project, path = open_project(args.project)
    problems = errors(validate(project))
    if problems:
        for p in problems:
            print(f"  error: {p.place}: {p.message}")
        print(f"{project.name}: no study: fix the errors above first")
        return EXIT_PROBLEMS
    weightings = [w for w in (args.weightings or "").split(",") if w]
    modes = [m for m in (getattr(args, "modes", None) or "").split(",") if m]
    searching = args.search_weights is not None
    # The search alone skips the study's runs, unless delta-m needs them as
    # its reference (the baselines, or else the project as drawn).
    run_runs = not args.worker and (
        not searching or args.baselines or weightings or modes or args.objective == "delta_m"
    )
    stop = Stop()

    def on_interrupt(signum, frame):
        print(
            "\nstopping the study after the current steps (Ctrl-C again to abort)...",
            file=sys.stderr,
        )
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    bar = StudyBar()

    code = EXIT_OK
    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        if run_runs:
            result = run_study(
                project,
                Path(args.out),
                baselines=args.baselines,
                weightings=weightings,
                modes=modes,
                seeds=args.seeds,
                epochs=args.epochs,
                listeners=[bar.progress],
                on_run=bar.run,
                stop=stop,
            )
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
            code = EXIT_NAN if result.failed else EXIT_OK
        if searching:
            code = _search(args, project, stop) or code
    except (StudyError, ValueError) as exc:
        raise CliError(str(exc), EXIT_PROBLEMS) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    return code


def _check_search_arguments(args) -> None:
    if args.search_weights is None:
        if (
            args.objective != "pareto"
            or args.search_lr
            or args.storage
            or args.workers != 1
            or args.worker
        ):
            raise CliError(
                "--objective, --search-lr, --storage, --workers and --worker go with "
                "--search-weights N",
                EXIT_PROBLEMS,
            )
        return
    if args.search_weights < 0:
        raise CliError("--search-weights: the number of trials cannot be negative", EXIT_PROBLEMS)
    if args.workers < 1:
        raise CliError("--workers: at least 1", EXIT_PROBLEMS)
    if args.worker and args.workers != 1:
        raise CliError("--worker runs one worker: leave out --workers", EXIT_PROBLEMS)


def shares(trials: int, workers: int) -> list[int]:
    """The trials of each worker, the first (this process) first."""
    return [trials // workers + (1 if k < trials % workers else 0) for k in range(workers)]


def worker_command(args, storage: str, trials: int) -> list[str]:
    """The command line of an extra worker: this one, joining the search only."""
    command = [sys.executable, "-m", "mtl_studio", "study", args.project, "--out", args.out]
    command += ["--search-weights", str(trials), "--objective", args.objective]
    command += ["--storage", storage, "--worker"]
    if args.search_lr:
        command.append("--search-lr")
    if args.epochs is not None:
        command += ["--epochs", str(args.epochs)]
    return command


def _search(args, project, stop) -> int:
    import optuna  # noqa: PLC0415

    from .study import search as ws  # noqa: PLC0415

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # a line per trial is ours
    out = Path(args.out)
    storage = args.storage or ws.default_storage(out)
    options = dict(
        objective=args.objective,
        learning_rate=args.search_lr,
        storage=storage,
        epochs=args.epochs,
    )

    def on_trial(trial) -> None:
        if trial.state == "running":
            weights = ", ".join(f"{t} {w:.4g}" for t, w in trial.weights.items())
            lr = f", learning rate {trial.learning_rate:.4g}" if trial.learning_rate else ""
            line = f"training (weights {weights}{lr})"
        elif trial.state == "complete":
            line = "complete (" + ", ".join(f"{t} {v:.4g}" for t, v in trial.figures.items())
            line += f"; delta-m {trial.values[0]:+.2f} %)" if args.objective == "delta_m" else ")"
        elif trial.state == "pruned":
            line = "pruned (its run stopped)"
        elif trial.status == "stopped":
            line = "stopped (its weights are tried again first when the search goes on)"
        else:
            line = f"{trial.state}: {trial.message}"
        print(f"trial {trial.number}: {line}", file=sys.stderr, flush=True)

    try:
        baselines = None
        if args.objective == "delta_m" and not args.worker:
            baselines = ws.study_reference(project, out, baselines=args.baselines, seeds=args.seeds)
        # Created here first, so the workers join it.
        ws.open_study(project, out, baselines=baselines, **options)
        share = shares(args.search_weights, args.workers)
        workers = [subprocess.Popen(worker_command(args, storage, n)) for n in share[1:] if n > 0]
        try:
            result = ws.search_weights(
                project, out, share[0], baselines=baselines, stop=stop, on_trial=on_trial, **options
            )
        finally:
            codes = [w.wait() for w in workers]
        if workers:
            result = ws.load_search(storage, project.name)
    except ws.SearchError as exc:
        raise CliError(str(exc), EXIT_PROBLEMS) from None
    bad = [c for c in codes if c not in (EXIT_OK, EXIT_INTERRUPTED)]
    for k, c in enumerate(codes):
        if c not in (EXIT_OK, EXIT_INTERRUPTED):
            print(f"mtl-studio: worker {k + 2} ended with exit code {c}", file=sys.stderr)
    stopped = result.stopped or EXIT_INTERRUPTED in codes
    if not args.worker:
        _print_search(args, result, storage)
    if stopped:
        if not args.worker:
            print(f"stopped: go on with the same command (--out {args.out})", file=sys.stderr)
        return EXIT_INTERRUPTED
    if bad or (args.search_weights and not result.count("complete")):
        return EXIT_NAN
    return EXIT_OK


def _print_search(args, result, storage: str) -> None:
    from .study.search import shown_url  # noqa: PLC0415

    stopped = sum(t.state == "fail" and t.status == "stopped" for t in result.trials)
    count = {
        "complete": result.count("complete"),
        "pruned": result.count("pruned"),
        "failed": result.count("fail") - stopped,
        "stopped": stopped,
        "running": result.count("running"),
        "waiting": result.count("waiting"),
    }
    counts = ", ".join(f"{n} {state}" for state, n in count.items() if n)
    what = "the Pareto front" if result.objective == "pareto" else "the best trial"
    print(
        f"\nloss-weight search {result.study_name!r}: {len(result.trials)} trials "
        f"({counts or 'none yet'}); {what}, on the validation rows:"
    )
    if result.chosen:
        print(result.markdown)
    else:
        print("(no trial has completed)")
    print(f"\n{args.out}: trials/trial-N (each trial's run); the search in {shown_url(storage)}")
    for trial in result.trials:
        if trial.state == "fail" and trial.message and trial.status != "stopped":
            print(f"mtl-studio: trial {trial.number}: {trial.message}", file=sys.stderr)
