"""An image folder in the Data panel: choosing it (its column and size
guessed), thumbnails with rows and targets, a placeholder for a missing
image, and its fields as undoable edits that reshape the Input."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

from mtl_studio.ui import data_panel as data_panel_module
from mtl_studio.ui.background import wait_for_background
from mtl_studio.ui.data_mapping import INPUT, Slot
from mtl_studio.ui.data_panel import DataPanel
from mtl_studio.ui.image_preview import THUMBNAILS, Thumb, ThumbnailStrip
from tests.data.test_image_source_files import image_project, image_source, make_folder

WAIT = 10_000


@pytest.fixture
def panel(data_panel):
    return data_panel  # tests/ui/conftest.py


def test_the_strip_shows_thumbnails_and_a_placeholder_for_a_missing_image(qtbot, tmp_path):
    make_folder(tmp_path, rows=4)
    strip = ThumbnailStrip()
    qtbot.addWidget(strip)
    thumbs = [
        Thumb(i + 2, tmp_path / "imgs" / f"img_{i}.png", f"0.{i}, dark", f"imgs/img_{i}.png")
        for i in range(4)
    ]
    thumbs.append(Thumb(6, tmp_path / "imgs" / "gone.png", "0.5, light", "imgs/gone.png"))
    strip.show_thumbs(thumbs)
    assert len(strip.tiles) == 5
    missing = strip.placeholders()
    assert len(missing) == 1 and missing[0] is strip.tiles[4]
    assert "imgs/gone.png" in missing[0].toolTip() and "not found" in missing[0].toolTip()
    captions = [w.text() for w in strip.tiles[1].findChildren(QLabel)]
    assert "row 3\n0.1, dark" in captions
    pictures = [w for w in strip.tiles[0].findChildren(QLabel) if w.pixmap() is not None]
    assert any(not w.pixmap().isNull() for w in pictures)
    # Shown again unchanged: the same tiles, nothing read again.
    tiles = list(strip.tiles)
    strip.show_thumbs(thumbs)
    assert strip.tiles == tiles
    # An unreadable file (text named .png) is a placeholder too.
    (tmp_path / "imgs" / "img_0.png").write_text("not an image")
    strip.show_thumbs(thumbs)
    assert len(strip.placeholders()) == 2


def test_choosing_an_image_folder_guesses_it_and_shows_thumbnails(qtbot, panel, tmp_path):
    csv = make_folder(tmp_path, rows=12)
    project = panel.document.project
    with qtbot.waitSignal(panel.read_finished, timeout=WAIT):
        panel.open_images(csv)
    source = project.data
    assert (source.kind, source.image_column) == ("images", "image")
    assert (source.image_height, source.image_width, source.image_channels) == (8, 8, 1)
    assert panel.image_fields.isVisible() and panel.thumbnails.isVisible()
    assert len(panel.thumbnails.tiles) == THUMBNAILS and not panel.thumbnails.placeholders()
    assert panel.image_fields.column_combo.currentData() == "image"
    # The image column feeds the Input, whose shape follows: one undo step.
    panel.choose_slot(Slot(INPUT, "x"))
    assert panel.set_input_columns("x", ["image"])
    assert list(project.node("x").params["shape"]) == [8, 8, 1]
    # The size is an edit of the source that reshapes the Input with it.
    assert panel.set_image_field("image_height", 16)
    assert project.data.image_height == 16 and list(project.node("x").params["shape"]) == [16, 8, 1]
    panel.document.undo_stack.undo()
    assert project.data.image_height == 8 and list(project.node("x").params["shape"]) == [8, 8, 1]
    panel.image_fields.cache_check.click()
    assert project.data.cache_images
    panel.document.undo_stack.undo()
    assert not project.data.cache_images
    panel.document.undo_stack.undo()  # the mapping
    panel.document.undo_stack.undo()  # the source
    assert project.data.kind != "images"
    assert not panel.thumbnails.isVisible()


def test_the_kind_combo_asks_for_the_csv_file(qtbot, panel, tmp_path, monkeypatch):
    csv = make_folder(tmp_path, rows=3)
    monkeypatch.setattr(
        data_panel_module.QFileDialog, "getOpenFileName", lambda *a, **k: (str(csv), "")
    )
    with qtbot.waitSignal(panel.read_finished, timeout=WAIT):
        panel.choose_kind("images")
    assert panel.document.project.data.kind == "images"
    assert Path(panel.document.project.data.path) == csv


def test_a_missing_image_is_reported_with_its_row_and_shown_as_a_placeholder(
    qtbot, make_document, tmp_path
):
    csv = make_folder(tmp_path, rows=10)
    (tmp_path / "imgs" / "img_2.png").unlink()
    project = image_project(csv)
    project.data = image_source(csv)
    panel = DataPanel(make_document(project))
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: bool(panel.store.failure(panel.current_key())), timeout=WAIT)
    assert "row 4, column 'image': image not found: imgs/img_2.png" in panel.error.text()
    assert len(panel.thumbnails.tiles) == THUMBNAILS
    (placeholder,) = panel.thumbnails.placeholders()
    assert placeholder is panel.thumbnails.tiles[2]
    assert "imgs/img_2.png" in placeholder.toolTip()
    panel.shutdown()
    wait_for_background()


def test_the_columns_list_calls_an_image_column_an_image():
    from mtl_studio.core.data_profile import IMAGE, LABEL, NUMERIC, ColumnInfo
    from mtl_studio.ui.data_mapping import kind_text

    assert kind_text(ColumnInfo("photo", IMAGE, (8, 8, 3))).startswith("image ")
    assert kind_text(ColumnInfo("kind", LABEL)) == "class label"
    assert kind_text(ColumnInfo("x", NUMERIC)) == "numeric"
