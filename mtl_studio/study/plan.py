"""What a study runs: its configurations and seeds, before anything trains.

Every run of a study shares the project's data split (the split seed stays
the project's seed while each run's seed changes), its training budget and
its settings but the one thing a configuration changes, so the results
compare fairly. No TensorFlow here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from ..core.project import Project
from ..core.settings import MODES, SHARED_TRUNK_WEIGHTINGS, WEIGHTINGS
from .baselines import single_task_project

AS_DRAWN = "as drawn"
BASELINE_PREFIX = "alone: "


@dataclass
class Configuration:
    name: str  # "as drawn", "weighting dwa", "alone: heating"
    project: Project
    task: str | None = None  # the task of a single-task baseline

    @property
    def baseline(self) -> bool:
        return self.task is not None

    @property
    def folder(self) -> str:
        """A folder name: the name in lower case, other characters as '-'."""
        return re.sub(r"[^a-z0-9_]+", "-", self.name.lower()).strip("-")


@dataclass
class PlannedRun:
    configuration: Configuration
    seed: int

    @property
    def folder(self) -> str:
        return f"{self.configuration.folder}/seed-{self.seed}"

    def project(self, epochs: int | None) -> Project:
        """The configuration's project with this run's seed, the study's
        split and budget."""
        project = self.configuration.project.copy()
        t = project.training
        t.split_seed = t.seed_of_split  # the project's split, whatever the run's seed
        t.seed = self.seed
        if epochs is not None:
            t.epochs = epochs
        return project


def configurations(
    project: Project, baselines: bool = True, weightings: list[str] = (), modes: list[str] = ()
) -> list[Configuration]:
    """The baselines (one per task), the project as drawn, the project with
    each other weighting method (joint mode: the weightings balance a
    shared trunk's tasks), and the project in each other training mode
    (alternating with fixed weights, as it trains; soft sharing with the
    project's weighting where that works there, else fixed)."""
    return [
        Configuration(name, make(), task)
        for name, make, task in _variants(project, baselines, weightings, modes)
    ]


def configuration_count(
    project: Project, baselines: bool = True, weightings: list[str] = (), modes: list[str] = ()
) -> int:
    """len(configurations(...)) without copying the project for each (a
    study's plan is counted after every edit; a large project's copies took
    a second)."""
    return len(_variants(project, baselines, weightings, modes))


def _variants(project, baselines, weightings, modes) -> list[tuple[str, Callable, str | None]]:
    """(name, a function making its project, its task or None) of each
    configuration: the one statement of which configurations a study has."""
    unknown = [w for w in weightings if w not in WEIGHTINGS]
    if unknown:
        raise ValueError(f"unknown weighting {unknown[0]!r}: choose from {', '.join(WEIGHTINGS)}")
    found = []
    if baselines:
        found += [
            (
                f"{BASELINE_PREFIX}{task.name}",
                lambda name=task.name: single_task_project(project, name),
                task.name,
            )
            for task in project.tasks
        ]
    found.append((AS_DRAWN, project.copy, None))
    drawn = project.training
    for weighting in weightings:
        if weighting == drawn.weighting and drawn.mode == "joint":
            continue  # that is the project as drawn
        found.append((f"weighting {weighting}", lambda w=weighting: _variant(project, w), None))
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown mode {unknown[0]!r}: choose from {', '.join(MODES)}")
    for mode in modes:
        if mode == drawn.mode:
            continue  # that is the project as drawn
        name = f"mode {mode.replace('_', ' ')}"
        found.append((name, lambda m=mode: _mode_variant(project, m), None))
    return found


def _variant(project: Project, weighting: str) -> Project:
    variant = project.copy()
    variant.training.mode = "joint"
    variant.training.weighting = weighting
    return variant


def _mode_variant(project: Project, mode: str) -> Project:
    variant = project.copy()
    drawn = project.training
    variant.training.mode = mode
    if mode == "alternating" or drawn.weighting in SHARED_TRUNK_WEIGHTINGS:
        variant.training.weighting = "fixed"  # what alternating trains; no trunk to balance
    return variant


def planned_runs(configs: list[Configuration], seeds: int, first_seed: int) -> list[PlannedRun]:
    """Each configuration with seeds first_seed, first_seed + 1, ...; a
    configuration's runs together, baselines first."""
    if seeds < 1:
        raise ValueError(f"a study needs at least one seed, got {seeds}")
    return [PlannedRun(c, first_seed + k) for c in configs for k in range(seeds)]
