"""The core, the study package and the light CLI commands never pull in Qt
or TensorFlow."""

import subprocess
import sys

import pytest

HEAVY = ("PySide6", "tensorflow", "keras", "pyqtgraph")


@pytest.mark.parametrize(
    "module",
    [
        "mtl_studio.core.project",
        "mtl_studio.core.commands",
        "mtl_studio.core.fileformat",
        "mtl_studio.core.validation",
        "mtl_studio.study.baselines",
        "mtl_studio.study.table",
        "mtl_studio.cli",
    ],
)
def test_module_imports_without_qt_or_tensorflow(module):
    code = (
        f"import sys, {module}\n"
        f"import mtl_studio.core, mtl_studio.study, pkgutil, importlib\n"
        f"for package in (mtl_studio.core, mtl_studio.study):\n"
        f"    for m in pkgutil.iter_modules(package.__path__):\n"
        f"        importlib.import_module(package.__name__ + '.' + m.name)\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"
