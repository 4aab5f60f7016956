"""Every problem of a project as something to train: its design and
settings (core/validation.py), its data files (missing or changed), and the
graph against what the files hold. `mtl-studio validate` and
`mtl_studio.validate` say the same thing."""

from __future__ import annotations

from pathlib import Path

from ..core.data_checks import data_problems as check_against
from ..core.datafiles import check_files
from ..core.project import Project
from ..core.validation import ERROR, WARNING, Place, Problem, validate
from .profile import profile_sources


def file_problems(project: Project) -> list[Problem]:
    """Data files that are missing (errors: training would fail) or changed
    since the project was saved (warnings)."""
    return [
        Problem(
            ERROR if r.state == "missing" else WARNING,
            Place("data", r.task or "", "data"),
            r.message,
        )
        for r in check_files(project)
    ]


def data_problems(project: Project, project_dir: Path | None) -> list[Problem]:
    """Read the project's data and check the graph against it; files that
    are missing are left to file_problems."""
    missing = {r.path for r in check_files(project) if r.state == "missing"}
    profiles, failures = profile_sources(project, project_dir)
    return check_against(project, profiles, project_dir) + [
        Problem(ERROR, Place("data", "", "data"), str(exc))
        for exc in failures
        if exc.file not in missing
    ]


def all_problems(project: Project, project_dir: Path | None = None) -> list[Problem]:
    return validate(project) + file_problems(project) + data_problems(project, project_dir)
