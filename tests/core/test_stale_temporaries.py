"""A save or checkpoint killed in the middle leaves its temporary file; the
next write of the same target removes the stale ones of its own (issue 17)."""

import os
import subprocess
import sys
import textwrap
import time

import numpy as np

from mtl_studio.core import atomic
from mtl_studio.core import fileformat as ff
from mtl_studio.core.atomic import pid_alive, remove_stale, replacing, write_text
from mtl_studio.training import checkpoint as ckpt
from tests.helpers import two_task_project


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert not pid_alive(process.pid)
    return process.pid


def names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_temporary_names_carry_the_target_and_the_process(tmp_path):
    with replacing(tmp_path / "p.mtl.json") as tmp:
        assert tmp.name.startswith(f".p.mtl.json.{os.getpid()}.")
        assert tmp.name.endswith(".tmp")
        tmp.write_text("x")


def test_the_next_write_removes_stale_temporaries_of_its_own_target_only(tmp_path):
    target = tmp_path / "p.mtl.json"
    dead, live = dead_pid(), os.getppid()
    stale = tmp_path / f".p.mtl.json.{dead}.abcd1234.tmp"
    alive = tmp_path / f".p.mtl.json.{live}.abcd1234.tmp"
    other = tmp_path / f".q.mtl.json.{dead}.abcd1234.tmp"  # another target's
    old_style = tmp_path / ".p.mtl.json.k2j4h5g6.tmp"  # no pid: by its age
    fresh_old_style = tmp_path / ".p.mtl.json.zzzzzzzz.tmp"
    aged_alive = tmp_path / f".p.mtl.json.{live}.old12345.tmp"
    for path in (stale, alive, other, old_style, fresh_old_style, aged_alive):
        path.write_text("half")
    long_ago = time.time() - atomic.STALE_SECONDS - 60
    os.utime(old_style, (long_ago, long_ago))
    os.utime(aged_alive, (long_ago, long_ago))
    ff.save(two_task_project(), target)
    assert names(tmp_path) == sorted([target.name, alive.name, other.name, fresh_old_style.name])
    assert ff.load(target).name == two_task_project().name


def test_a_write_in_progress_in_this_process_is_left_alone(tmp_path):
    target = tmp_path / "a.txt"
    with replacing(target) as tmp:
        tmp.write_text("first")
        write_text(target, "second")  # e.g. another thread writing the same file
        assert tmp.exists()
    assert target.read_text() == "first"


def test_a_checkpoint_removes_the_stale_temporary_of_a_killed_one(tmp_path):
    path = tmp_path / "checkpoint.npz"
    stale = tmp_path / f".checkpoint.npz.{dead_pid()}.abcdefgh.tmp"
    stale.write_bytes(b"PK half")
    ckpt.save(path, {"w": np.ones(3)}, {"step": 3})
    assert names(tmp_path) == ["checkpoint.npz"]
    assert ckpt.load(path)[1]["step"] == 3


def test_a_save_killed_with_sigkill_leaves_a_temporary_the_next_save_removes(tmp_path):
    target = tmp_path / "p.mtl.json"
    script = textwrap.dedent(f"""
        import time
        from mtl_studio.core.atomic import replacing
        with replacing({str(target)!r}) as tmp:
            tmp.write_text("half a project")
            print("writing", flush=True)
            time.sleep(60)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "writing"
    finally:
        process.kill()
        process.wait()
    left = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and f".{process.pid}." in left[0].name
    ff.save(two_task_project(), target)
    assert names(tmp_path) == ["p.mtl.json"]


def test_remove_stale_never_raises(tmp_path):
    assert remove_stale(tmp_path / "missing" / "a.txt") == []
    assert not pid_alive(0) and pid_alive(os.getpid())


class _Kernel32:
    """kernel32's three calls as Windows answers them for `processes`
    (pid -> exit code; 259 is STILL_ACTIVE): this machine is not Windows."""

    def __init__(self, processes):
        self.processes, self.error = processes, 0

    def OpenProcess(self, access, inherit, pid):  # noqa: N802 - Windows' names
        if pid not in self.processes:
            self.error = 87  # ERROR_INVALID_PARAMETER: no such process
            return 0
        return pid

    def GetLastError(self):  # noqa: N802
        return self.error

    def GetExitCodeProcess(self, handle, code):  # noqa: N802
        code._obj.value = self.processes[handle]
        return 1

    def CloseHandle(self, handle):  # noqa: N802
        return 1


def test_on_windows_a_process_is_alive_while_it_has_not_exited(monkeypatch):
    import ctypes

    from mtl_studio.core import atomic

    fake = _Kernel32({101: 259, 102: 0})
    monkeypatch.setattr(ctypes, "windll", type("W", (), {"kernel32": fake})(), raising=False)
    assert atomic._windows_pid_alive(101)  # still active
    assert not atomic._windows_pid_alive(102)  # exited
    assert not atomic._windows_pid_alive(103)  # no such process
