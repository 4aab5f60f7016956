"""The File menu's exchanges: export a diagram and a training script, and
import a .keras model, with the file dialogs answered by the test."""

from pathlib import Path

from mtl_studio.ui import exchange


def answer_save(monkeypatch, path: Path, asked=None):
    def ask(window, title, start, filters):
        if asked is not None:
            asked.append((title, start, filters))
        return str(path)

    monkeypatch.setattr(exchange, "ask_save_path", ask)


def test_export_diagram_from_the_file_menu(make_window, monkeypatch, tmp_path):
    window = make_window()
    asked = []
    answer_save(monkeypatch, tmp_path / "net", asked)  # no suffix: SVG
    window.act_export_diagram.trigger()
    assert "SVG" in asked[0][2]
    text = (tmp_path / "net.svg").read_text()
    assert "out_a" in text and "out_b" in text
    assert "Wrote the diagram" in window.notice.text()


def test_export_diagram_as_png(make_window, monkeypatch, tmp_path):
    window = make_window()
    answer_save(monkeypatch, tmp_path / "net.png")
    window.act_export_diagram.trigger()
    assert (tmp_path / "net.png").read_bytes()[:4] == b"\x89PNG"


def test_a_diagram_that_cannot_be_written_says_where(make_window, monkeypatch, tmp_path):
    window = make_window()
    answer_save(monkeypatch, tmp_path / "missing" / "net.svg")
    window.act_export_diagram.trigger()
    assert any("missing" in m for m in window.messages)


def test_cancelling_the_dialog_writes_nothing(make_window, monkeypatch, tmp_path):
    window = make_window()
    monkeypatch.setattr(exchange, "ask_save_path", lambda *a: "")
    window.act_export_diagram.trigger()
    window.act_export_script.trigger()
    assert list(tmp_path.glob("*.svg")) == [] and list(tmp_path.glob("*.py")) == []


def import_model(qtbot, window, monkeypatch, path: Path) -> None:
    from mtl_studio.ui.background import wait_for_background

    monkeypatch.setattr(exchange, "ask_open_path", lambda *a: str(path))
    window.act_import.trigger()
    assert not window.act_import.isEnabled()  # busy: TensorFlow runs in the background
    wait_for_background(60000)
    qtbot.waitUntil(lambda: window.act_import.isEnabled(), timeout=5000)


def test_import_a_keras_model_opens_it_as_a_new_project(qtbot, make_window, monkeypatch, tmp_path):
    from tests.export.test_keras_import import saved, trunk_model

    model = saved(trunk_model(), tmp_path)
    window = make_window()
    import_model(qtbot, window, monkeypatch, model)
    project = window.document.project
    assert [t.name for t in project.tasks] == ["price", "kind"]
    assert project.task("kind").weight == 2.0
    assert window.document.path is None  # unsaved: saving asks where
    assert "Imported model.keras" in window.notice.text()


def test_a_model_that_cannot_be_imported_leaves_the_project(
    qtbot, make_window, monkeypatch, tmp_path
):
    bad = tmp_path / "bad.keras"
    bad.write_text("not a zip")
    window = make_window()
    before = window.document
    import_model(qtbot, window, monkeypatch, bad)
    assert window.document is before
    assert any("bad.keras" in m for m in window.messages)
    assert not any("Traceback" in m for m in window.messages)
