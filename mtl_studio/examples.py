"""The example projects shipped in resources/examples."""

from __future__ import annotations

from pathlib import Path

from .core.fileformat import SUFFIX

DEFAULT_EXAMPLE = "tutorial"


def resources_dir() -> Path:
    """resources/ of a source checkout, or mtl_studio/resources when installed."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "resources", here.parent / "resources"):
        if (candidate / "examples").is_dir():
            return candidate
    raise FileNotFoundError("the bundled resources folder is missing from this installation")


def examples() -> dict[str, Path]:
    """Example name -> project file, sorted by name."""
    folder = resources_dir() / "examples"
    return {p.name[: -len(SUFFIX)]: p for p in sorted(folder.glob("*" + SUFFIX))}


def example_path(name: str) -> Path:
    found = examples()
    if name not in found:
        raise KeyError(f"no example named {name!r} (examples: {', '.join(found)})")
    return found[name]
