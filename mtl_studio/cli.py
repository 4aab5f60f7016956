"""The `mtl-studio` command.

    mtl-studio [PROJECT]                  open the window (the default example)
    mtl-studio show PROJECT               summary: nodes, shapes, roles, tasks
    mtl-studio validate PROJECT           problems with their places
    mtl-studio examples                   the bundled examples
    mtl-studio train PROJECT [--epochs N] [--out DIR] [--seed S] [--mode M] [--weighting W]
    mtl-studio train --resume DIR [--epochs N]
        [--strategy default|mirrored|multi-worker] [--cpu-devices N]
        [--cluster FILE --task-index I] [--precision P]
    mtl-studio evaluate RUN [--data FILE] [--split test|val|train] [--model best|last]
    mtl-studio predict RUN DATA.csv|DATA.npz --out OUT.csv [--model best|last]
    mtl-studio export PROJECT [--keras OUT.keras] [--script OUT.py] [--diagram OUT.svg]
    mtl-studio import MODEL.keras OUT.mtl.json

PROJECT is a project file or the name of a bundled example. Exit codes:
0 done, 1 the project (or its data) has problems, 2 a file cannot be read
or written, 3 training stopped on a NaN loss, 130 stopped by Ctrl-C.
No traceback reaches the user (set MTL_STUDIO_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .core.fileformat import ProjectError, load
from .core.params import format_shape
from .core.project import Project
from .core.tasks import LOSS_LABELS
from .core.validation import (
    errors,
    infer_shapes,
    parameter_count,
)
from .core.settings import (
    DISTRIBUTIONS,
    MODES,
    PRECISIONS,
    WEIGHTINGS,
    describe,
    describe_optimizer,
)
from .core.wording import counted
from .examples import examples

EXIT_OK, EXIT_PROBLEMS, EXIT_UNREADABLE, EXIT_NAN = 0, 1, 2, 3
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70  # a bug of ours (sysexits' EX_SOFTWARE)


class CliError(Exception):
    """A failure to report in one line with an exit code."""

    def __init__(self, message: str, code: int = EXIT_UNREADABLE) -> None:
        super().__init__(message)
        self.code = code


def resolve_project(arg: str) -> Path:
    """A path, or the name of a bundled example when no such file exists."""
    path = Path(arg)
    if path.exists():
        return path
    found = examples()
    if arg in found:
        return found[arg]
    hint = f" (examples: {', '.join(found)})" if found else ""
    raise CliError(f"{arg}: no such file or example{hint}")


def open_project(arg: str) -> tuple[Project, Path]:
    path = resolve_project(arg)
    try:
        return load(path), path
    except ProjectError as exc:
        raise CliError(str(exc)) from None


def print_problems(problems, out) -> None:
    for p in problems:
        print(f"  {p.severity}: {p.place}: {p.message}", file=out)


def _role_text(role) -> str:
    if role.kind == "shared":
        return "shared trunk (" + ", ".join(role.tasks) + ")"
    if role.kind == "head":
        return f"head of {role.tasks[0]}"
    return role.kind


def cmd_show(args) -> int:
    project, path = open_project(args.project)
    out = sys.stdout
    print(f"{project.name}  ({path})", file=out)
    if project.description:
        print(project.description, file=out)
    shapes, _ = infer_shapes(project)
    counts = parameter_count(project, shapes)
    roles = project.roles()
    rows = [("node", "kind", "output shape", "weights", "role")]
    for node_id, node in project.nodes.items():
        shape = shapes.get(node_id)
        rows.append(
            (
                node.name,
                node.kind,
                format_shape(shape) if shape else "?",
                f"{counts[node_id]:,}",
                _role_text(roles[node_id]),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    print("\nNetwork", file=out)
    for r in rows:
        print(
            "  "
            + "  ".join(
                [
                    r[0].ljust(widths[0]),
                    r[1].ljust(widths[1]),
                    r[2].ljust(widths[2]),
                    r[3].rjust(widths[3]),
                    r[4],
                ]
            ),
            file=out,
        )
    print(f"  total weights: {sum(counts.values()):,}", file=out)
    print("\nTasks", file=out)
    for task in project.tasks:
        output = project.nodes[task.output].name if task.output in project.nodes else "-"
        target = ", ".join(task.target) or "-"
        metrics = ", ".join(task.metrics) or "-"
        print(
            f"  {task.name}: learns {output}, loss {task.loss} ({LOSS_LABELS[task.loss]}), "
            f"weight {task.weight:g}, metrics {metrics}, target {target}",
            file=out,
        )
    t = project.training
    print("\nTraining", file=out)
    print(f"  {describe(t)}", file=out)
    if t.mode == "alternating":
        print(
            f"  schedule {t.schedule}; per task: "
            + ", ".join(
                f"{task.name} {describe_optimizer(task.optimizer or t.optimizer)}"
                for task in project.tasks
            ),
            file=out,
        )
    elif t.mode == "soft_sharing":
        print(f"  soft sharing penalty lambda {t.soft_sharing_lambda:g}", file=out)
    d = project.data
    source = f"generator {d.generator}" if d.kind == "generator" else f"{d.kind} file {d.path}"
    print(f"  data: {source}", file=out)
    from .data.project_checks import all_problems  # numpy: reads the data

    problems = all_problems(project, path.parent)  # as `validate` says them
    print("", file=out)
    if problems:
        print(f"Problems ({len(problems)})", file=out)
        print_problems(problems, out)
    else:
        print("Valid: no problems.", file=out)
    return EXIT_PROBLEMS if errors(problems) else EXIT_OK


def cmd_validate(args) -> int:
    from .data.project_checks import all_problems  # numpy: only when validating

    project, path = open_project(args.project)
    problems = all_problems(project, path.parent)
    n_err = len(errors(problems))
    n_warn = len(problems) - n_err
    print_problems(problems, sys.stdout)
    if n_err:
        print(f"{path}: {counted(n_err, 'error')}, {counted(n_warn, 'warning')}")
        return EXIT_PROBLEMS
    print(f"{path}: valid" + (f", {n_warn} warning(s)" if n_warn else ""))
    return EXIT_OK


def cmd_examples(args) -> int:
    for name, path in examples().items():
        try:
            title = load(path).name
        except ProjectError as exc:  # a damaged installation
            title = f"(unreadable: {exc.message})"
        print(f"  {name:<14} {title}\n  {'':<14} {path}")
    return EXIT_OK


def cmd_export(args) -> int:
    from .export_command import cmd_export as export

    return export(args)


def cmd_import(args) -> int:
    from .export_command import cmd_import as import_model

    return import_model(args)


def cmd_train(args) -> int:
    from .train_command import train  # TensorFlow: only here

    return train(args)


def cmd_study(args) -> int:
    from .study_command import study  # TensorFlow: only there

    return study(args)


def cmd_evaluate(args) -> int:
    from .results_command import evaluate  # TensorFlow: only there

    return evaluate(args)


def cmd_predict(args) -> int:
    from .results_command import predict

    return predict(args)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mtl-studio",
        description="Design, train and export multi-task neural networks.",
        epilog="PROJECT is a .mtl.json file or the name of a bundled example "
        "(see `mtl-studio examples`).",
    )
    parser.add_argument("--version", action="version", version=f"mtl-studio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("show", help="summarise a project: nodes, shapes, roles, tasks")
    p.add_argument("project", metavar="PROJECT")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("validate", help="list a project's problems (exit 1 if any error)")
    p.add_argument("project", metavar="PROJECT")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("examples", help="list the bundled example projects")
    p.set_defaults(func=cmd_examples)

    p = sub.add_parser(
        "train",
        help="train a project headless and write its run to a folder",
        description="Train with a progress bar on stderr. The output folder gets history.csv, "
        "summary.json, model-best.keras and model-last.keras (in the data's own "
        "units), checkpoint.npz, tensorboard/ and a copy of the project. Ctrl-C "
        "stops cleanly and keeps a checkpoint; --resume goes on.",
    )
    p.add_argument(
        "project",
        metavar="PROJECT",
        nargs="?",
        help="project file or example name (not needed with --resume)",
    )
    p.add_argument("--epochs", type=int, metavar="N", help="train this many epochs in all")
    p.add_argument("--out", metavar="DIR", help="output folder (default: runs/NAME-TIME)")
    p.add_argument("--seed", type=int, metavar="S", help="seed for weights, split and batches")
    p.add_argument("--mode", choices=MODES, help="joint, alternating or soft_sharing")
    p.add_argument("--weighting", choices=WEIGHTINGS, help="loss weighting (joint mode)")
    p.add_argument("--resume", metavar="DIR", help="go on with the stopped run in DIR")
    p.add_argument(
        "--precision", choices=PRECISIONS, help="float32, mixed_bfloat16 or mixed_float16"
    )
    p.add_argument(
        "--strategy",
        choices=DISTRIBUTIONS,
        help="default (one device), mirrored (this machine's GPUs) or multi-worker",
    )
    p.add_argument(
        "--cpu-devices",
        type=int,
        metavar="N",
        help="mirrored: split the CPU into N devices (to try it without a GPU)",
    )
    p.add_argument("--cluster", metavar="FILE", help='multi-worker: {"worker": ["host:port", ...]}')
    p.add_argument(
        "--task-index", type=int, metavar="I", help="multi-worker: this worker's place in FILE"
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "evaluate",
        help="score a run's model per task on held-out rows, beside a trivial guess",
        description="A table per task on the run's test rows (by default): regression MAE, "
        "RMSE, R^2; classification accuracy, macro F1, log loss and the "
        "confusion matrix; per-token accuracy for sequences; each beside the "
        "same figure for the trivial predictor (the training mean, the majority "
        "class). Also written to RUN/evaluation.json and evaluation.csv. "
        "Exit 1 if the data does not fit the run, 2 if something is unreadable.",
    )
    p.add_argument("run", metavar="RUN", help="a run folder (runs/NAME-TIME)")
    p.add_argument(
        "--data",
        metavar="FILE",
        help="score every row of this .csv or .npz instead of the run's own split",
    )
    p.add_argument(
        "--split",
        choices=("test", "val", "train"),
        default="test",
        help="which rows of the run's data (default: test)",
    )
    p.add_argument(
        "--model",
        choices=("best", "last"),
        default="best",
        help="the best epoch's model (default) or the last epoch's",
    )
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "predict",
        help="predict with a run's model on a file, in the data's own units",
        description="Reads the run's input columns by name (others are ignored), writes a "
        "row per input row, in order: each regression target in its units, and "
        "for each classification task the label and its probability. Large "
        "CSV files stream through in blocks.",
    )
    p.add_argument("run", metavar="RUN", help="a run folder")
    p.add_argument("data", metavar="DATA", help="a .csv or .npz file")
    p.add_argument("--out", metavar="OUT.csv", required=True, help="the predictions file")
    p.add_argument(
        "--model",
        choices=("best", "last"),
        default="best",
        help="the best epoch's model (default) or the last epoch's",
    )
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser(
        "study",
        help="does sharing help each task, and which weighting serves best: a study of runs",
        description="Runs the project's single-task baselines (--baselines), the project as "
        "drawn and the project with each weighting asked for, each with --seeds seeds on "
        "one data split and budget, scores every run on its test rows, and writes a "
        "table of each task's figure beside its baseline and delta-m (docs/studies.md). "
        "Run again with the same arguments, it goes on where it stopped.",
    )
    p.add_argument("project", metavar="PROJECT")
    p.add_argument(
        "--baselines", action="store_true", help="train each task alone too: the reference"
    )
    p.add_argument("--weightings", metavar="W,W", help="e.g. fixed,uncertainty,dwa")
    p.add_argument("--modes", metavar="M,M", help="e.g. alternating,soft_sharing")
    p.add_argument("--seeds", type=int, default=1, metavar="N", help="seeds per configuration")
    p.add_argument("--epochs", type=int, metavar="N", help="epochs of every run")
    p.add_argument("--out", metavar="DIR", required=True, help="the study's folder")
    g = p.add_argument_group(
        "loss-weight search",
        "Search the tasks' weights with Optuna: each trial a run in DIR/trials/trial-N, scored "
        "on its validation rows. Alone, the search runs instead of the study's runs; with "
        "--baselines or --weightings, after them.",
    )
    g.add_argument(
        "--search-weights", type=int, metavar="N", help="run N trials of the loss-weight search"
    )
    g.add_argument(
        "--objective",
        choices=("pareto", "delta_m"),
        default="pareto",
        help="pareto: each task's validation figure, the Pareto front (default); delta_m: "
        "delta-m against the study's baselines (or the project as drawn), the best trial",
    )
    g.add_argument(
        "--search-lr", action="store_true", help="search the learning rate too (lr/10 to lr*10)"
    )
    g.add_argument(
        "--storage",
        metavar="URL",
        help="the Optuna database (default: sqlite:///DIR/search.db); workers on other "
        "machines join a search on a database they share",
    )
    g.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="K",
        help="run the trials in K processes on this machine (K-1 extra workers)",
    )
    g.add_argument(
        "--worker",
        action="store_true",
        help="only join the search in --storage and run N of its trials (no study runs, no "
        "table): what --workers starts, and how another machine joins",
    )
    p.set_defaults(func=cmd_study)

    p = sub.add_parser(
        "export",
        help="export a project: Keras model, training script, diagram",
        description="Write one or more of: the untrained Keras model, a standalone Keras "
        "training script (no MTL Studio needed to run it), a diagram of the "
        "network.",
    )
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("--keras", metavar="OUT.keras", help="write the untrained Keras model")
    p.add_argument("--script", metavar="OUT.py", help="write a standalone training script")
    p.add_argument("--diagram", metavar="OUT.svg", help="write a diagram (.svg or .png)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "import",
        help="make a project from a multi-output .keras model",
        description="Layers become nodes, outputs become tasks (with the losses and loss "
        "weights of the model's compile config). Loaded in Keras' safe mode. "
        "Exit 1 if a layer could not be imported.",
    )
    p.add_argument("model", metavar="MODEL.keras")
    p.add_argument("out", metavar="OUT.mtl.json")
    p.set_defaults(func=cmd_import)
    return parser


COMMANDS = (
    "show",
    "validate",
    "examples",
    "train",
    "evaluate",
    "predict",
    "study",
    "export",
    "import",
)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # `mtl-studio` alone, or with a project file, opens the window.
    if not argv or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
        if len(argv) > 1:
            print(
                f"mtl-studio: unknown command {argv[0]!r} (commands: {', '.join(COMMANDS)})",
                file=sys.stderr,
            )
            return EXIT_UNREADABLE
        from .ui.app import run  # Qt: only here

        return run(argv[0] if argv else None)
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CliError as exc:
        print(f"mtl-studio: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("mtl-studio: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # last resort: a short message, never a traceback
        if os.environ.get("MTL_STUDIO_DEBUG"):
            raise
        print(
            f"mtl-studio: unexpected error: {type(exc).__name__}: {exc}\n"
            "Run again with MTL_STUDIO_DEBUG=1 for details, and please report it.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
