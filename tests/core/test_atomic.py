"""Atomic writes: all or nothing, and files as shareable as any saved file."""

import stat

import pytest

from mtl_studio.core.atomic import NEW_FILE_MODE, replacing, write_text
from mtl_studio.core import fileformat as ff
from tests.helpers import two_task_project


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_is_readable_by_others_not_private(tmp_path):
    write_text(tmp_path / "a.txt", "hello")
    assert (tmp_path / "a.txt").read_text() == "hello"
    assert mode(tmp_path / "a.txt") == NEW_FILE_MODE
    ff.save(two_task_project(), tmp_path / "p.mtl.json")
    assert mode(tmp_path / "p.mtl.json") == NEW_FILE_MODE


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    path.chmod(0o600)
    write_text(path, "new")
    assert path.read_text() == "new" and mode(path) == 0o600


def test_a_failure_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with replacing(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_missing_folder_fails_before_writing(tmp_path):
    with pytest.raises(OSError):
        write_text(tmp_path / "no" / "a.txt", "x")
