"""Which devices a run trains on, in words the window, the command line and
summary.json share.

With TensorFlow's default placement a run trains on the first visible GPU
when there is one, else on the CPU (all its cores). Imports TensorFlow.
"""

from __future__ import annotations

import os

from .distribute import replicas_text
from .tf_import import tf


def _gpu_name(device) -> str:
    try:
        details = tf().config.experimental.get_device_details(device)
    except (ValueError, RuntimeError):
        details = {}
    name = details.get("device_name")
    return f"{device.name.split(':', 1)[-1]} ({name})" if name else device.name.split(":", 1)[-1]


def training_devices(distribution=None) -> list[str]:
    """The devices of a run, e.g. ["CPU (2 cores)"] or ["GPU:0 (NVIDIA L4)"],
    then what is visible but not used ("1 more GPU visible"); under a
    tf.distribute strategy, its replicas first ("2 replicas (mirrored)")."""
    if distribution is not None:
        gpus = tf().config.list_physical_devices("GPU")
        where = f"{len(gpus)} GPU{'s' if len(gpus) > 1 else ''}" if gpus else "CPU"
        return [f"{replicas_text(distribution)} on {where}"]
    gpus = tf().config.list_physical_devices("GPU")
    if not gpus:
        return [f"CPU ({os.cpu_count() or 1} cores)"]
    found = [_gpu_name(gpus[0])]
    if len(gpus) > 1:
        found.append(f"{len(gpus) - 1} more GPU{'s' if len(gpus) > 2 else ''} visible, not used")
    return found
