"""A disk that fills up during training (issue 17): the run ends naming the
file it could not write and saying the last checkpoint is whole, and the
command line exits 2 like the other unwritable cases. The fault is real: a
process whose files may not grow past a limit (RLIMIT_FSIZE), so its
writes fail with "File too large" as on a full disk."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import json, resource, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from mtl_studio.training.trainer import Trainer
from tests.training.conftest import regression_project, tiny_data
path = Path({path!r})
first = Trainer(regression_project(), data=tiny_data(), checkpoint_path=path)
first.run(1)
whole = path.read_bytes()
# From here on no file may grow past 1 KB: the next checkpoint cannot be written.
resource.setrlimit(resource.RLIMIT_FSIZE, (1024, resource.RLIM_INFINITY))
second = Trainer(regression_project(), data=tiny_data(), checkpoint_path=path)
second.restore_checkpoint(path)
finished = second.run(2)
print("RESULT " + json.dumps({{
    "status": finished.status, "message": finished.message,
    "unwritable": second.unwritable, "same": path.read_bytes() == whole,
}}))
"""


def test_a_checkpoint_that_cannot_be_written_is_named_and_the_last_one_stays(tmp_path):
    path = tmp_path / "checkpoint.npz"
    code = CHILD.format(root=str(ROOT), path=str(path))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line, done.stderr[-3000:]
    result = json.loads(line[len("RESULT ") :])
    assert result["status"] == "error" and result["unwritable"]
    assert result["message"].startswith(f"{path}: cannot write the checkpoint (File too large)")
    assert "the last checkpoint there is whole" in result["message"]
    assert result["same"]  # the checkpoint of epoch 1, untouched
    assert not list(tmp_path.glob("*.tmp"))  # no temporary left beside it


def test_the_command_line_exits_2_naming_the_file(tmp_path):
    from tests.helpers import with_data
    from tests.training.conftest import regression_project

    from mtl_studio.core.fileformat import dumps

    project = tmp_path / "p.mtl.json"
    project.write_text(dumps(with_data(regression_project(), tmp_path, rows=40)))
    out = tmp_path / "run"
    code = (
        "import resource, sys; "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (3000, resource.RLIM_INFINITY)); "
        "from mtl_studio.cli import main; "
        f"sys.exit(main(['train', {str(project)!r}, '--out', {str(out)!r}]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("mtl-studio: ") and str(out) in last and "File too large" in last
