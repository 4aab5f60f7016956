"""The document's DataStore: the project's data is read, kept and checked
against the graph with no Data panel at all; an unchanged file is read
once; closing or shutting down stops a read under way."""

import dataclasses
import os
import time

import pytest
from PySide6.QtWidgets import QApplication

from mtl_studio.core.commands import SetData, SetParam
from mtl_studio.core.data_profile import source_key
from mtl_studio.core.settings import DataSource
from mtl_studio.data.table import ReadCancelled
from mtl_studio.ui import data_loader
from mtl_studio.ui.background import wait_for_background
from mtl_studio.ui.data_panel import DataPanel
from mtl_studio.ui.document import Document
from tests.helpers import two_task_project

WAIT = 10_000  # ms


def write_csv(path, rows=30):
    """x1, x2 numeric; kind a label of 5 values."""
    lines = ["x1,x2,kind"] + [f"{i * 0.5},{i % 7},{'abcde'[i % 5]}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def with_csv(path):
    """two_task_project (out_b has 3 units) learning `kind` (5 classes) for b."""
    project = two_task_project()
    project.data = DataSource("csv", path=str(path.absolute()))
    project.task("b").target = ["kind"]
    return project


@pytest.fixture
def reads(monkeypatch):
    """Count the reads of CSV files (first rows, whole file) by path."""
    counts = {"head": 0, "whole": 0}
    real_head, real_whole = data_loader.read_csv_head, data_loader.read_csv

    def head(path, *args, **kwargs):
        counts["head"] += 1
        return real_head(path, *args, **kwargs)

    def whole(path, *args, **kwargs):
        counts["whole"] += 1
        return real_whole(path, *args, **kwargs)

    monkeypatch.setattr(data_loader, "read_csv_head", head)
    monkeypatch.setattr(data_loader, "read_csv", whole)
    return counts


@pytest.fixture
def slow_reads(monkeypatch):
    """Whole reads of CSV files take 5 s unless cancelled (checked every 10 ms)."""
    real = data_loader.read_csv

    def slow(path, progress=None):
        for i in range(500):
            time.sleep(0.01)
            if progress(i / 500) is False:
                raise ReadCancelled(str(path))
        return real(path, progress)

    monkeypatch.setattr(data_loader, "read_csv", slow)


def no_data_panel() -> bool:
    return not any(isinstance(w, DataPanel) for w in QApplication.allWidgets())


def test_a_document_without_a_panel_gets_its_profiles(qtbot, make_document, tmp_path):
    document = make_document(with_csv(write_csv(tmp_path / "data.csv")))
    key = source_key(document.project.data, document.project_dir)
    qtbot.waitUntil(lambda: key in document.data_profiles, timeout=WAIT)
    assert no_data_panel()
    profile = document.data_profiles[key]
    assert profile.rows == 30 and profile.columns["kind"].classes == 5
    store = document.data_store
    assert store.loaded(key).profile is profile
    assert store.loaded(key).head.n_rows == 30  # the first rows, for a panel later
    assert not store.is_reading(key) and store.failure(key) == ""


def test_a_data_problem_shows_without_a_panel(qtbot, make_document, tmp_path):
    document = make_document(with_csv(write_csv(tmp_path / "data.csv")))

    def units_problem():
        return [p for p in document.node_problems("out_b") if "set units to 5" in p.message]

    qtbot.waitUntil(lambda: bool(units_problem()), timeout=WAIT)
    assert no_data_panel()
    assert units_problem()[0].severity == "error"
    # Fixed in the graph: checked against the profile kept, no read needed.
    document.push(SetParam("out_b", "units", 5))
    document.validate_now()
    assert not units_problem()


def test_a_source_chosen_by_an_edit_is_read_without_a_panel(qtbot, make_document, tmp_path):
    document = make_document()  # no data chosen: nothing to read
    assert document.data_store.reads_started == 0
    path = write_csv(tmp_path / "data.csv")
    document.push(SetData(DataSource("csv", path=str(path.absolute()))))
    key = source_key(document.project.data, document.project_dir)
    qtbot.waitUntil(lambda: key in document.data_profiles, timeout=WAIT)
    # Undo: the profile of the file stays known, for a redo.
    document.undo()
    document.redo()
    assert document.data_store.reads_started == 1


def test_an_unchanged_file_is_read_once(qtbot, make_document, tmp_path, reads):
    path = write_csv(tmp_path / "data.csv")
    document = make_document(with_csv(path))
    store = document.data_store
    source = document.project.data
    key = source_key(source, document.project_dir)
    qtbot.waitUntil(lambda: key in document.data_profiles, timeout=WAIT)
    assert reads == {"head": 1, "whole": 1}
    profile = document.data_profiles[key]
    # Asked again, and after edits of the data (a mapping): what was read is used.
    assert store.read(source) == key
    document.push(SetData(dataclasses.replace(source, inputs={"x": ["x1", "x2"]})))
    document.undo()
    assert not store.is_reading(key)
    assert reads == {"head": 1, "whole": 1} and store.reads_started == 1
    assert document.data_profiles[key] is profile
    # A Data panel opened now shows it without reading it again.
    panel = DataPanel(document)
    qtbot.addWidget(panel)
    assert panel.preview_model.rowCount() == 30
    assert panel.status_label.text() == "30 rows, 3 columns"
    assert reads == {"head": 1, "whole": 1}
    # The file changed on disk: read again the next time the sources are looked at.
    write_csv(path, rows=12)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # (a coarse clock)
    store.read_project()
    qtbot.waitUntil(lambda: document.data_profiles[key].rows == 12, timeout=WAIT)
    assert reads == {"head": 2, "whole": 2}
    # Reload reads it even unchanged.
    with qtbot.waitSignal(store.profile_ready, timeout=WAIT):
        store.read(document.project.data, fresh=True)
    assert reads == {"head": 3, "whole": 3}
    wait_for_background()


def test_closing_the_document_stops_a_read_in_progress(
    qtbot, no_leaked_widgets, tmp_path, slow_reads
):
    document = Document(with_csv(write_csv(tmp_path / "data.csv")))
    store = document.data_store
    key = source_key(document.project.data, document.project_dir)
    heard = []
    for signal in (store.profile_ready, store.failed, store.cancelled):
        signal.connect(lambda *args: heard.append(args))
    with qtbot.waitSignal(store.progress, timeout=WAIT):
        pass  # the whole file is being read
    assert store.is_reading(key)
    start = time.perf_counter()
    document.close()
    assert wait_for_background(WAIT)
    assert time.perf_counter() - start < 2.5  # stopped, not read to its end (5 s)
    qtbot.wait(20)  # what the read's end sent is delivered
    assert heard == []  # a closed document hears nothing more
    assert key not in document.data_profiles and not store.is_reading(key)
    # Nor does it start reads.
    store.read(document.project.data, fresh=True)
    assert store.reads_started == 1
    document.deleteLater()


def test_shutdown_cancels_a_read_and_reload_reads_again(qtbot, make_document, tmp_path, slow_reads):
    document = make_document(with_csv(write_csv(tmp_path / "data.csv")))
    store = document.data_store
    key = source_key(document.project.data, document.project_dir)
    with qtbot.waitSignal(store.progress, timeout=WAIT):
        pass
    with qtbot.waitSignal(store.cancelled, timeout=WAIT):
        store.shutdown()
    assert not store.is_reading(key) and key not in document.data_profiles
    assert "press Reload" in store.failure(key)
    # The same file is not tried again by itself; Reload (fresh) does.
    store.read_project()
    assert store.reads_started == 1
    store.read(document.project.data, fresh=True)
    assert store.reads_started == 2 and store.is_reading(key)
    store.shutdown()
    wait_for_background()
