"""`mtl-studio export` and `mtl-studio import`: the command line's way to
exchange projects with Keras code and documents.

    export PROJECT [--keras OUT.keras] [--script OUT.py] [--diagram OUT.svg|OUT.png]
    import MODEL.keras OUT.mtl.json

TensorFlow and Qt are imported only by the option that needs them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .cli import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_UNREADABLE,
    CliError,
    open_project,
    print_problems,
)
from .core.fileformat import ProjectError, save
from .core.validation import errors, validate


def cmd_export(args) -> int:
    project, path = open_project(args.project)
    if not (args.keras or args.script or args.diagram):
        raise CliError(
            "export: say what to write: --keras OUT.keras, --script OUT.py or --diagram OUT.svg"
        )
    outputs = [Path(p) for p in (args.keras, args.script, args.diagram) if p]
    for out in outputs:
        if not out.parent.is_dir():
            raise CliError(f"{out}: the folder {out.parent} does not exist")
    if args.keras and Path(args.keras).suffix != ".keras":
        raise CliError(f"{args.keras}: a Keras model file must end in .keras")
    if args.diagram and Path(args.diagram).suffix.lower() not in (".svg", ".png"):
        raise CliError(f"{args.diagram}: a diagram is written as .svg or .png")

    # A diagram of a project with errors still helps to discuss it; a model
    # or a training script of one would not run.
    if args.diagram:
        _diagram(project, Path(args.diagram))
    if args.keras or args.script:
        problems = validate(project)
        if errors(problems):
            print_problems(errors(problems), sys.stdout)
            print(f"{path}: not exported: fix the errors above first")
            return EXIT_PROBLEMS
    if args.script:
        _script(project, path, Path(args.script))
    if args.keras:
        _keras(project, Path(args.keras))
    return EXIT_OK


def _diagram(project, out: Path) -> None:
    from .ui.canvas.diagram import DiagramError, ensure_app, export_diagram  # Qt: only here

    ensure_app()
    try:
        export_diagram(project, out)
    except DiagramError as exc:
        raise CliError(str(exc)) from None
    print(f"{out}: wrote the diagram of {len(project.nodes)} nodes")


def _script(project, path: Path, out: Path) -> None:
    from .export.script import ScriptExportError, write_script

    try:
        write_script(project, path.parent, out)
    except ScriptExportError as exc:
        raise CliError(str(exc)) from None
    print(f"{out}: wrote the training script (run it with: python {out})")


def _keras(project, out: Path) -> None:
    from .training.builder import build_model, save_keras  # TensorFlow: only here

    built = build_model(project)
    try:
        save_keras(built.model, out)
    except OSError as exc:
        raise CliError(f"{out}: cannot write the file: {exc.strerror or exc}") from None
    print(
        f"{out}: wrote the untrained model ({built.model.count_params():,} weights, "
        f"outputs {', '.join(built.output_names)})"
    )


def cmd_import(args) -> int:
    model, out = Path(args.model), Path(args.out)
    if not out.name.endswith(".json"):
        raise CliError(f"{out}: a project file ends in .mtl.json")
    if not out.parent.is_dir():
        raise CliError(f"{out}: the folder {out.parent} does not exist")
    from .export.keras_import import (  # TensorFlow: only here
        KerasImportError,
        import_keras,
        report_lines,
    )

    try:
        result = import_keras(model)
    except KerasImportError as exc:
        raise CliError(str(exc), EXIT_UNREADABLE) from None
    try:
        save(result.project, out)
    except ProjectError as exc:
        raise CliError(str(exc)) from None
    project = result.project
    print(
        f"{out}: {len(project.nodes)} nodes, tasks "
        f"{', '.join(t.name for t in project.tasks) or '(none)'}"
    )
    for line in report_lines(result):
        print(f"  {line}")
    problems = validate(project)
    print_problems(problems, sys.stdout)
    return EXIT_PROBLEMS if result.unknown or errors(problems) else EXIT_OK
