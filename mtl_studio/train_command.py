"""`mtl-studio train`: headless training with the same Trainer as the
window, a progress bar on stderr, and the run's files in one folder."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from .cli import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_NAN,
    EXIT_OK,
    EXIT_PROBLEMS,
    CliError,
    open_project,
    print_problems,
)
from .core.project import check_training_field
from .core.validation import errors, validate
from .training import events as ev
from .training import run_folder

CHECKPOINT = run_folder.CHECKPOINT


class ProgressBar:
    """One line on stderr, redrawn in place on a terminal; a line per epoch
    otherwise (logs stay readable)."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.losses: dict[str, float] = {}
        self.last_draw = 0.0

    def __call__(self, batch) -> None:
        for e in batch:
            if isinstance(e, ev.StepLosses):
                for task, values in e.losses.items():
                    finite = values[~(values != values)]
                    if len(finite):
                        self.losses[task] = float(finite[-1])
            elif isinstance(e, ev.Progress):
                if self.tty and time.monotonic() - self.last_draw > 0.1:
                    self.draw(e)
            elif isinstance(e, ev.EpochEnd):
                self.epoch_line(e)
            elif isinstance(e, ev.RunStarted) and e.devices:
                print(f"training {ev.devices_text(e.devices)}", file=self.stream, flush=True)

    def draw(self, p: ev.Progress) -> None:
        self.last_draw = time.monotonic()
        width = 24
        done = int(width * p.step / max(1, p.total_steps))
        bar = "#" * done + "." * (width - done)
        losses = "  ".join(f"{t} {v:.4g}" for t, v in self.losses.items())
        line = (
            f"\repoch {p.epoch}/{p.epochs} [{bar}] step {p.step}/{p.total_steps} "
            f"{p.steps_per_second:,.0f} steps/s  {losses}  {ev.format_duration(p.seconds_left)} left"
        )
        self.stream.write(line[:200].ljust(100))
        self.stream.flush()

    def epoch_line(self, e: ev.EpochEnd) -> None:
        parts = [f"{t} {v:.4g}" for t, v in e.train_losses.items()]
        if e.val_losses:
            parts.append("val " + "  ".join(f"{t} {v:.4g}" for t, v in e.val_losses.items()))
        prefix = "\r" if self.tty else ""
        self.stream.write(f"{prefix}epoch {e.epoch}: " + "  ".join(parts) + " " * 20 + "\n")
        self.stream.flush()


def _prepare_run(args):
    """The project, its folder (for relative data paths) and the output folder."""
    if args.resume:
        out = Path(args.resume)
        try:
            project, project_dir = run_folder.read(out)
        except run_folder.RunFolderError as exc:
            raise CliError(str(exc)) from None
    else:
        if not args.project:
            raise CliError("train: give a PROJECT, or --resume DIR", EXIT_PROBLEMS)
        project, path = open_project(args.project)
        project_dir = path.resolve().parent
        out = Path(args.out) if args.out else Path("runs") / run_folder.new_folder_name(path)
    for field, value in (
        ("epochs", args.epochs),
        ("seed", None if args.resume else args.seed),
        ("mode", None if args.resume else args.mode),
        ("weighting", None if args.resume else args.weighting),
        # Where and how precisely a run trains may change when it resumes:
        # checkpoints hold float32 values, whatever the devices.
        ("strategy", getattr(args, "strategy", None)),
        ("precision", getattr(args, "precision", None)),
    ):
        if value is not None:
            try:
                setattr(project.training, field, check_training_field(field, value))
            except ValueError as exc:
                raise CliError(f"--{field}: {exc}", EXIT_PROBLEMS) from None
    if args.resume and (args.seed or args.mode or args.weighting):
        print(
            "mtl-studio: --seed, --mode and --weighting are those of the run when resuming",
            file=sys.stderr,
        )
    return project, project_dir, out


def train(args) -> int:
    project, project_dir, out = _prepare_run(args)
    problems = validate(project)
    if errors(problems):
        print_problems(problems, sys.stdout)
        print(f"{project.name}: not trained: fix the errors above first")
        return EXIT_PROBLEMS
    # Warnings train, but the user hears them: they often say that a setting
    # has no effect (a weighting in alternating mode trains as fixed).
    print_problems(problems, sys.stderr)
    distribution = _distribution(args, project)
    worker = _worker_folder(args, distribution, out)
    if worker is not None:
        out = worker.out
    from .training.run import run_project  # TensorFlow: only when training

    # Ctrl-C asks the trainer to stop after the current call of steps; a
    # second Ctrl-C interrupts at once.
    held = []

    def on_interrupt(signum, frame):
        print("\nstopping after the current steps (Ctrl-C again to abort)...", file=sys.stderr)
        for trainer in held:
            trainer.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def on_trainer(trainer) -> None:
        held.append(trainer)
        if args.resume:
            print(f"resuming {out}", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        outcome = run_project(
            project,
            project_dir,
            out,
            resume=bool(args.resume),
            listeners=[ProgressBar()],
            on_trainer=on_trainer,
            distribution=distribution,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
        if worker is not None:
            worker.cleanup()
    if worker is not None:
        # A worker's own files were throwaway: the chief reports the run.
        print(f"worker {worker.index}: {outcome.finished.message}", file=sys.stderr)
        return EXIT_OK if outcome.finished.status == "completed" else EXIT_INTERNAL
    if outcome.unwritable:
        raise CliError(outcome.finished.message)  # exit 2: a file that cannot be written
    for warning in outcome.warnings:
        print(f"mtl-studio: {warning}", file=sys.stderr)
    sys.stderr.write("\n" if sys.stderr.isatty() else "")
    if outcome.error_log:
        print(f"mtl-studio: details for a bug report are in {outcome.error_log}", file=sys.stderr)
    return _report(outcome.finished, outcome.summary, out)


def _distribution(args, project):
    """The tf.distribute strategy of the run (None: the default device),
    made first, before anything else starts TensorFlow: splitting the CPU
    and joining a cluster must come before TensorFlow places anything."""
    kind = project.training.strategy
    cpu_devices = getattr(args, "cpu_devices", None)
    cluster = getattr(args, "cluster", None)
    task_index = getattr(args, "task_index", None)
    if cpu_devices is not None and not 1 <= cpu_devices <= 64:
        raise CliError(f"--cpu-devices: expected 1 to 64, got {cpu_devices}", EXIT_PROBLEMS)
    if (cluster is None) != (task_index is None):
        raise CliError("--cluster and --task-index go together", EXIT_PROBLEMS)
    if cluster is not None and kind != "multi-worker":
        raise CliError("--cluster needs --strategy multi-worker", EXIT_PROBLEMS)
    if kind == "default" and cluster is None and not cpu_devices:
        return None
    from .training.distribute import DistributionError, make_distribution  # noqa: PLC0415

    try:
        return make_distribution(
            kind,
            cpu_devices=cpu_devices or 0,
            cluster=Path(cluster) if cluster else None,
            task_index=task_index,
        )
    except DistributionError as exc:
        raise CliError(f"--strategy {kind}: {exc}", EXIT_PROBLEMS) from None


class _WorkerFolder:
    """A multi-worker run's folder on a worker other than the chief: a
    throwaway copy (the chief, worker 0, writes the run folder, history and
    checkpoints). On --resume it starts from a copy of the folder given."""

    def __init__(self, index: int, out: Path, resume: bool) -> None:
        import shutil  # noqa: PLC0415
        import tempfile  # noqa: PLC0415

        self.index = index
        self._temp = Path(tempfile.mkdtemp(prefix=f"mtl-worker{index}-"))
        self.out = self._temp / "run"
        if resume:
            shutil.copytree(out, self.out)

    def cleanup(self) -> None:
        import shutil  # noqa: PLC0415

        shutil.rmtree(self._temp, ignore_errors=True)


def _worker_folder(args, distribution, out: Path) -> _WorkerFolder | None:
    if distribution is None:
        return None
    from .training.distribute import worker_of  # noqa: PLC0415

    index, workers = worker_of() if "TF_CONFIG" in os.environ else (0, 1)
    if workers <= 1 or index == 0:
        return None
    print(
        f"worker {index} of {workers}: worker 0 (the chief) writes the run folder",
        file=sys.stderr,
    )
    return _WorkerFolder(index, out, bool(args.resume))


def _report(finished: ev.RunFinished, summary: dict, out: Path) -> int:
    if finished.status == "invalid":
        print(f"mtl-studio: {finished.message}", file=sys.stderr)
        return EXIT_PROBLEMS
    if finished.status == "error":
        print(f"mtl-studio: {finished.message}", file=sys.stderr)
        return EXIT_INTERNAL
    for task, values in summary["tasks"].items():
        val = values["val_loss"]
        metrics = ", ".join(
            f"{m} {v:.4g}" for m, v in values["val_metrics"].items() if v is not None
        )
        train = values["final_train_loss"]
        print(
            f"  {task}: "
            + ("no finite train loss" if train is None else f"train loss {train:.4g}")
            + (f", validation loss {val:.4g}" if val is not None else "")
            + (f", {metrics}" if metrics else "")
        )
    rate = summary["steps_per_second"]
    print(
        f"{out}: {finished.message}; {summary['steps']} steps in {summary['wall_seconds']:.1f} s"
        + (f" ({ev.format_rate(rate)})" if rate else "")
    )
    best = summary.get("best_epoch")
    if best and "model_best" in summary["files"]:
        print(
            f"  best epoch {best['epoch']}: {summary['files']['model_best']}; "
            f"last epoch: {summary['files']['model_last']}"
        )
    if finished.status == "nan":
        print(f"mtl-studio: {finished.message}", file=sys.stderr)
        return EXIT_NAN
    if finished.status == "stopped":
        print(f"stopped: go on with  mtl-studio train --resume {out}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK
