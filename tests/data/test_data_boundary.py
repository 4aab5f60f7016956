"""The data layer never pulls in Qt or TensorFlow (architecture rule 3)."""

import subprocess
import sys

HEAVY = ("PySide6", "tensorflow", "keras", "pyqtgraph")


def test_data_imports_without_qt_or_tensorflow():
    code = (
        f"import sys, mtl_studio.data\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"mtl_studio.data imported {out.stdout.strip()}"
