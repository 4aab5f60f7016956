"""One place that imports TensorFlow and Keras, quietly and only when first
needed, so the window and the light CLI commands start fast."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import tempfile
import threading

# Lines TensorFlow's C++ side prints at import on a machine without a GPU.
# They mean nothing to our users, and no setting silences all of them.
_NOISE = (
    "All log messages before absl::InitializeLog()",
    "cudart_stub.cc",
    "cuda_platform.cc",
    "oneDNN custom operations",
    "cpu_feature_guard.cc",
    "rebuild TensorFlow with the appropriate compiler flags",
    "TF-TRT Warning",
    "Unable to register cu",
    "computation placer already registered",
)

_imported = False
# The first import swaps file descriptor 2 for a while: two threads doing it
# at once (a run starting while a Keras export runs) would swap it twice and
# lose stderr for the session. One at a time; later calls pass at once.
_lock = threading.Lock()


@contextlib.contextmanager
def _filtered_stderr():
    """Send file descriptor 2 to a temporary file, then pass on every line
    that is not known noise."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode("utf-8", "replace").splitlines(keepends=True):
                if not any(noise in line for noise in _NOISE):
                    sys.stderr.write(line)


def keras():
    if not _imported:
        with _lock:
            _first_import()
    import keras as _keras  # noqa: PLC0415

    return _keras


def _first_import() -> None:
    global _imported
    if not _imported:
        # Level 3 also hides the "failed call to cuInit" error of the first op.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        with _filtered_stderr():
            import tensorflow  # noqa: F401,PLC0415 (lazy on purpose)
            import keras as _keras  # noqa: F401,PLC0415
        # Python-side warnings (retracing notes and the like) are for us, not users.
        tensorflow.get_logger().setLevel("ERROR")
        # The import leaves some 280,000 Python objects that live as long as
        # the process. Out of the collector's reach, a full collection while
        # a run trains takes about 40 ms instead of 200: a pause every thread
        # waits for, the window's included (docs/benchmarks.md).
        gc.collect()
        gc.freeze()
        _imported = True


def tf():
    keras()
    import tensorflow as _tf  # noqa: PLC0415

    return _tf
