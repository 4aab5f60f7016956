"""The network diagram: SVG and PNG drawn by the canvas's own items."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage

from mtl_studio.core.fileformat import load
from mtl_studio.core.graph import Node
from mtl_studio.core.layout import auto_layout
from mtl_studio.core.project import Project
from mtl_studio.core.tasks import TRUNK_COLOR
from mtl_studio.examples import examples
from mtl_studio.ui.canvas import diagram
from mtl_studio.ui.canvas.diagram import (
    MARGIN,
    DiagramError,
    build_scene,
    diagram_size,
    ensure_app,
    export_diagram,
    render_png,
    render_svg,
)
from mtl_studio.ui.canvas.items import ERROR, WARNING
from tests.helpers import cnn_without_flatten, two_task_project

EXAMPLES = sorted(examples())


def example(name: str) -> Project:
    return load(examples()[name])


def laid_out(project: Project) -> Project:
    """Test projects are built at (0, 0): spread them out as the canvas would."""
    for node_id, (x, y) in auto_layout(project).items():
        project.node(node_id).x, project.node(node_id).y = x, y
    return project


def task_colors(project: Project) -> dict[str, str]:
    return {t.name: project.task_color(t.name) for t in project.tasks}


# --- SVG --------------------------------------------------------------------------


def svg_texts(root: ET.Element) -> list[str]:
    return [(el.text or "").strip() for el in root.iter() if el.tag.endswith("}text")]


def svg_fills(root: ET.Element) -> set[str]:
    return {el.get("fill").lower() for el in root.iter() if el.get("fill")}


@pytest.mark.parametrize("name", EXAMPLES)
def test_svg_of_each_example_names_every_node_and_task_in_its_colours(qapp, tmp_path, name):
    project = example(name)
    out = tmp_path / f"{name}.svg"
    render_svg(project, out)
    root = ET.parse(out).getroot()  # well-formed XML, or this raises
    texts = svg_texts(root)
    for node in project.nodes.values():
        assert node.name in texts, f"node {node.name!r} missing from {texts}"
    for task in project.tasks:
        assert f"Head: {task.name}" in texts  # the legend
        assert task.name in texts  # the header of the task's nodes
    assert project.name in texts  # the title
    fills = svg_fills(root)
    assert TRUNK_COLOR.lower() in fills
    for task, color in task_colors(project).items():
        assert color.lower() in fills, f"colour of task {task} ({color}) missing"


def test_svg_escapes_a_project_name_with_markup(qapp, tmp_path):
    project = laid_out(two_task_project())
    project.name = 'R&D <net> "v2"'
    out = tmp_path / "net.svg"
    render_svg(project, out)
    root = ET.parse(out).getroot()
    assert project.name in svg_texts(root)


def test_svg_has_no_clip_paths_and_a_generic_font(qapp, tmp_path):
    # Qt's SVG 1.1 clip paths are never lifted after a restore, which hides
    # most of the drawing in a browser: the export must stay clip-free.
    out = tmp_path / "tutorial.svg"
    render_svg(example("tutorial"), out)
    text = out.read_text(encoding="utf-8")
    assert "clip-path" not in text
    root = ET.fromstring(text)
    families = {el.get("font-family") for el in root.iter() if el.get("font-family")}
    assert families and all(f.endswith(", sans-serif") for f in families)


def test_svg_page_size_matches_the_diagram(qapp, tmp_path):
    project = example("energy")
    out = tmp_path / "energy.svg"
    render_svg(project, out)
    view_box = [float(v) for v in ET.parse(out).getroot().get("viewBox").split()]
    size = diagram_size(project)
    assert view_box == [0, 0, math.ceil(size.width()), math.ceil(size.height())]


# --- PNG --------------------------------------------------------------------------


def rgb_pixels(path: Path) -> np.ndarray:
    image = QImage(str(path)).convertToFormat(QImage.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    # A copy: the array must not outlive the image's memory.
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def count_color(pixels: np.ndarray, color: str) -> int:
    c = QColor(color)
    return int(np.all(pixels == (c.red(), c.green(), c.blue()), axis=2).sum())


@pytest.mark.parametrize("name", EXAMPLES)
def test_png_of_each_example_shows_the_trunk_and_every_head_in_colour(qapp, tmp_path, name):
    project = example(name)
    out = tmp_path / f"{name}.png"
    render_png(project, out)
    pixels = rgb_pixels(out)
    not_white = np.any(pixels != 255, axis=2).mean()
    assert 0.05 < not_white < 0.9, f"{not_white:.0%} of the image is drawn"
    # A node header is 184 x 22 at scale 1: thousands of pixels at scale 2.
    assert count_color(pixels, TRUNK_COLOR) > 1000
    for task, color in task_colors(project).items():
        assert count_color(pixels, color) > 1000, f"task {task} ({color}) not drawn"


@pytest.mark.parametrize("scale", [1.0, 2.0, 3.0])
def test_png_is_the_page_times_the_scale_and_the_page_holds_the_scene(qapp, tmp_path, scale):
    project = example("tutorial")
    out = tmp_path / "tutorial.png"
    render_png(project, out, scale=scale)
    image = QImage(str(out))
    size = diagram_size(project)
    assert (image.width(), image.height()) == (
        math.ceil(size.width() * scale),
        math.ceil(size.height() * scale),
    )
    network = build_scene(project).itemsBoundingRect()
    assert size.width() >= network.width() + 2 * MARGIN
    assert size.height() >= network.height() + 2 * MARGIN
    # The file prints at the size it has on screen (96 dpi at scale 1).
    assert image.dotsPerMeterX() == round(96 * scale / 0.0254)


def test_png_has_no_problem_badges_and_lists_unused_nodes(qapp, tmp_path):
    project = laid_out(cnn_without_flatten())  # fc1 gets a shape error
    project.add_node(Node("spare", "Dense", "spare", {}, 0.0, 500.0))
    out = tmp_path / "cnn.png"
    render_png(project, out)
    pixels = rgb_pixels(out)
    assert count_color(pixels, ERROR.name()) == 0
    assert count_color(pixels, WARNING.name()) == 0
    svg = tmp_path / "cnn.svg"
    render_svg(project, svg)
    texts = svg_texts(ET.parse(svg).getroot())
    assert "!" not in texts
    # The legend explains what is drawn: no trunk in a one-task network.
    assert "Shared trunk" not in texts
    assert "Head: t" in texts and "Unused" in texts


def test_an_empty_project_gives_a_page_with_title_and_legend(qapp, tmp_path):
    out = tmp_path / "empty.png"
    render_png(Project("nothing yet"), out)
    assert not QImage(str(out)).isNull()


def test_the_project_is_left_as_it_was(qapp, tmp_path):
    project = example("energy")
    before = project.copy()
    render_png(project, tmp_path / "energy.png")
    assert project == before
    assert build_scene(project).selectedItems() == []


# --- choosing the format, and errors ----------------------------------------------------


def test_export_picks_the_format_by_suffix(qapp, tmp_path):
    project = example("tutorial")
    export_diagram(project, tmp_path / "a.svg")
    export_diagram(project, tmp_path / "b.PNG")
    assert (tmp_path / "a.svg").read_bytes().startswith(b"<?xml")
    assert (tmp_path / "b.PNG").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("file", ["net.pdf", "net"])
def test_a_bad_suffix_names_the_file_and_the_suffixes_that_work(qapp, tmp_path, file):
    out = tmp_path / file
    with pytest.raises(DiagramError) as info:
        export_diagram(example("tutorial"), out)
    assert str(out) in str(info.value)
    assert ".svg" in str(info.value) and ".png" in str(info.value)
    assert not out.exists()


@pytest.mark.parametrize("render", [render_svg, render_png])
def test_a_folder_that_cannot_be_written_names_the_path(qapp, tmp_path, render):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    for out in (tmp_path / "missing" / "net.x", blocker / "net.x"):
        with pytest.raises(DiagramError) as info:
            render(example("tutorial"), out)
        assert str(out) in str(info.value)
        assert str(out.parent) in str(info.value)


@pytest.mark.skipif(
    os.geteuid() == 0 if hasattr(os, "geteuid") else True,
    reason="needs a user whose folder permissions are enforced",
)
def test_a_read_only_folder_names_the_path(qapp, tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(DiagramError, match="read_only"):
            render_svg(example("tutorial"), folder / "net.svg")
    finally:
        folder.chmod(0o700)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(qapp, tmp_path, monkeypatch):
    out = tmp_path / "net.svg"
    out.write_text("old")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(diagram.os, "replace", refuse)
    with pytest.raises(DiagramError, match="No space left"):
        render_svg(example("tutorial"), out)
    assert out.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.svg"]


def test_a_written_diagram_is_readable_by_others(qapp, tmp_path):
    out = tmp_path / "net.svg"
    render_svg(example("tutorial"), out)
    assert out.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("scale", [0, -1, float("nan"), 1000])
def test_a_bad_scale_names_the_file(qapp, tmp_path, scale):
    out = tmp_path / "net.png"
    with pytest.raises(DiagramError) as info:
        render_png(example("tutorial"), out, scale=scale)
    assert str(out) in str(info.value)
    assert not out.exists()


def test_ensure_app_returns_the_running_application(qapp):
    assert ensure_app() is qapp


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="no DISPLAY there to miss")
def test_the_command_line_way_renders_without_a_display(tmp_path):
    """As `mtl-studio export --diagram` will: no QApplication yet, no display."""
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from mtl_studio.examples import example_path\n"
        "from mtl_studio.core.fileformat import load\n"
        "from mtl_studio.ui.canvas.diagram import ensure_app, export_diagram\n"
        "app = ensure_app()\n"
        "export_diagram(load(example_path('tutorial')), Path(sys.argv[1]))\n"
        "print(os.environ['QT_QPA_PLATFORM'], app.platformName())\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    out = tmp_path / "tutorial.png"
    done = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["offscreen", "offscreen"]
    assert not QImage(str(out)).isNull()


def test_a_diagram_reads_no_data_files(qapp):
    """A diagram's document is thrown away at once: a read of its CSV left
    running would emit from a deleted object (a crash seen in CI)."""
    from mtl_studio.ui import data_loader

    scene = build_scene(example("cross_stitch"))
    assert scene.nodes and data_loader._reading == set()
