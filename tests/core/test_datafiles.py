"""Data file paths relative to the project file, fingerprints, and the check
for missing or changed files when a project opens."""

import json
from pathlib import Path

import pytest

from mtl_studio.core import fileformat as ff
from mtl_studio.core.datafiles import (
    FULL_HASH_LIMIT,
    check_files,
    fingerprint,
    relative,
)
from mtl_studio.core.settings import DataSource
from tests.helpers import two_task_project


def csv_project(data_path: Path):
    project = two_task_project()
    project.data = DataSource("csv", path=str(data_path), inputs={"x": ["a"]})
    return project


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_paths_are_written_relative_and_read_back_absolute(tmp_path):
    data = write(tmp_path / "proj" / "data" / "d.csv", "a,b\n1,2\n")
    project = csv_project(data)
    ff.save(project, tmp_path / "proj" / "p.mtl.json")
    on_disk = json.loads((tmp_path / "proj" / "p.mtl.json").read_text())
    assert on_disk["data"]["path"] == "data/d.csv"
    assert ff.load(tmp_path / "proj" / "p.mtl.json").data.path == str(data)


def test_a_moved_project_folder_still_finds_its_data(tmp_path):
    write(tmp_path / "proj" / "data" / "d.csv", "a,b\n1,2\n")
    ff.save(csv_project(tmp_path / "proj" / "data" / "d.csv"), tmp_path / "proj" / "p.mtl.json")
    (tmp_path / "proj").rename(tmp_path / "moved")
    project = ff.load(tmp_path / "moved" / "p.mtl.json")
    assert project.data.path == str(tmp_path / "moved" / "data" / "d.csv")
    assert check_files(project) == []


def test_save_as_elsewhere_rebases_relative_paths(tmp_path):
    data = write(tmp_path / "shared" / "d.csv", "a,b\n1,2\n")
    (tmp_path / "one").mkdir()
    ff.save(csv_project(data), tmp_path / "one" / "p.mtl.json")
    project = ff.load(tmp_path / "one" / "p.mtl.json")
    (tmp_path / "two" / "deeper").mkdir(parents=True)
    ff.save(project, tmp_path / "two" / "deeper" / "p.mtl.json")
    on_disk = json.loads((tmp_path / "two" / "deeper" / "p.mtl.json").read_text())
    assert on_disk["data"]["path"] == "../../shared/d.csv"


def test_a_path_sharing_only_the_root_stays_absolute(tmp_path):
    assert relative("/elsewhere/d.csv", tmp_path) == "/elsewhere/d.csv"
    assert relative("", tmp_path) == ""
    assert relative("already/relative.csv", tmp_path) == "already/relative.csv"


def test_task_data_paths_are_relative_too(tmp_path):
    data = write(tmp_path / "b.npz", "x")
    project = two_task_project()
    project.tasks[0].data = DataSource("npz", path=str(data))
    ff.save(project, tmp_path / "p.mtl.json")
    on_disk = json.loads((tmp_path / "p.mtl.json").read_text())
    assert on_disk["tasks"][0]["data"]["path"] == "b.npz"
    assert on_disk["tasks"][0]["data"]["fingerprint"]["size"] == 1


def test_save_records_a_fingerprint_and_open_finds_nothing_changed(tmp_path):
    data = write(tmp_path / "d.csv", "a,b\n1,2\n")
    ff.save(csv_project(data), tmp_path / "p.mtl.json")
    project = ff.load(tmp_path / "p.mtl.json")
    assert project.data.fingerprint == fingerprint(data)
    assert project.data.fingerprint["size"] == len("a,b\n1,2\n")
    assert check_files(project) == []


def test_a_missing_file_is_reported_with_its_owner_and_path(tmp_path):
    data = write(tmp_path / "d.csv", "a,b\n1,2\n")
    project = csv_project(data)
    project.tasks[1].data = DataSource("csv", path=str(tmp_path / "gone.csv"))
    ff.save(project, tmp_path / "p.mtl.json")
    data.unlink()
    reports = check_files(ff.load(tmp_path / "p.mtl.json"))
    assert [(r.task, r.state) for r in reports] == [
        (None, "missing"),
        (project.tasks[1].name, "missing"),
    ]
    assert f"task '{project.tasks[1].name}'" in reports[1].message
    assert str(data) in reports[0].message and "missing" in reports[0].message


@pytest.mark.parametrize(
    "new_text, detail",
    [
        ("a,b\n1,2\n3,4\n", "bytes then"),  # grown
        ("a,b\n1,9\n", "same size, other contents"),
    ],
)
def test_a_changed_file_is_reported(tmp_path, new_text, detail):
    data = write(tmp_path / "d.csv", "a,b\n1,2\n")
    ff.save(csv_project(data), tmp_path / "p.mtl.json")
    data.write_text(new_text)
    (report,) = check_files(ff.load(tmp_path / "p.mtl.json"))
    assert report.state == "changed" and detail in report.detail
    assert "changed since the project was saved" in report.message


def test_generators_and_unsaved_files_are_not_checked(tmp_path):
    project = two_task_project()
    project.data = DataSource("generator", "none")
    assert check_files(project) == []
    # A file chosen but never saved with the project has no fingerprint yet.
    assert check_files(csv_project(write(tmp_path / "d.csv", "a\n1\n"))) == []


def test_large_files_hash_their_ends_only(tmp_path, monkeypatch):
    import mtl_studio.core.datafiles as datafiles

    monkeypatch.setattr(datafiles, "FULL_HASH_LIMIT", 4 * datafiles._PART)
    path = tmp_path / "big.bin"
    path.write_bytes(bytes(5 * datafiles._PART))
    before = fingerprint(path)
    with open(path, "r+b") as fh:  # a change in the middle, same size
        fh.seek(2 * datafiles._PART)
        fh.write(b"x")
    assert fingerprint(path)["sha256"] == before["sha256"]
    assert FULL_HASH_LIMIT >= 2**29  # real files up to 512 MiB are hashed whole


def test_a_version_1_file_opens_and_saves_as_the_current_version(tmp_path):
    data = write(tmp_path / "d.csv", "a,b\n1,2\n")
    text = ff.dumps(csv_project(data), tmp_path)
    old = json.loads(text)
    old["format_version"] = 1
    del old["data"]["fingerprint"]
    (tmp_path / "old.mtl.json").write_text(json.dumps(old))
    project = ff.load(tmp_path / "old.mtl.json")
    assert project.data.fingerprint is None and project.data.path == str(data)
    ff.save(project, tmp_path / "new.mtl.json")
    assert (
        json.loads((tmp_path / "new.mtl.json").read_text())["format_version"] == ff.FORMAT_VERSION
    )


def test_a_bad_fingerprint_names_its_json_path(tmp_path):
    data = json.loads(ff.dumps(csv_project(tmp_path / "d.csv"), tmp_path))
    data["data"]["fingerprint"] = {"size": "big", "sha256": "x"}
    with pytest.raises(ff.ProjectError, match=r"data\.fingerprint\.size"):
        ff.loads(json.dumps(data))
