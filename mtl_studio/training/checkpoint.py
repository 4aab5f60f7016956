"""Checkpoints: every variable of a run (model weights, optimizer states,
weighting state, step) in one .npz file, with a small JSON record inside.

One file, written to a temporary name and renamed, so a checkpoint is
always whole. Loaded with allow_pickle=False: nothing is unpickled.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ..core.atomic import replacing

FORMAT = "mtl-studio-checkpoint"
VERSION = 1


class CheckpointError(Exception):
    pass


class CheckpointWriteError(CheckpointError):
    """The checkpoint file could not be written (a full or read-only disk);
    the one there before, written whole, is still there."""


def save(path: Path, values: dict[str, np.ndarray], meta: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = json.dumps({"format": FORMAT, "version": VERSION, **meta})
    arrays = {f"v:{k}": np.asarray(v) for k, v in values.items()}
    arrays["meta"] = np.frombuffer(record.encode("utf-8"), dtype=np.uint8)
    try:
        with replacing(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
    except OSError as exc:
        kept = "the last checkpoint there is whole" if path.exists() else "there is none yet"
        raise CheckpointWriteError(
            f"{path}: cannot write the checkpoint ({exc.strerror or exc}): {kept}; "
            "free some space or choose another folder, then resume"
        ) from None


def load(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
            values = {k[2:]: data[k] for k in data.files if k.startswith("v:")}
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no checkpoint there") from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from None
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: not an MTL Studio checkpoint of version {VERSION}")
    return values, meta


def assign(variables: dict, values: dict[str, np.ndarray], path) -> None:
    """Put saved values into the run's variables, checking that they fit."""
    missing = sorted(set(variables) - set(values))
    if missing:
        raise CheckpointError(
            f"{path}: the checkpoint lacks {missing[0]} (it was made for a different model)"
        )
    for name, var in variables.items():
        value = values[name]
        if tuple(value.shape) != tuple(var.shape):
            raise CheckpointError(
                f"{path}: {name} has shape {value.shape} in the checkpoint "
                f"but {tuple(var.shape)} in the model"
            )
        var.assign(value)
