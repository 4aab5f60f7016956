"""The image-folder source: reading and checking (no TensorFlow), decoding
and caching at preparation, validation, the file format, and a run."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from mtl_studio.core.data_profile import IMAGE
from mtl_studio.core.fileformat import ProjectError, load, save
from mtl_studio.data import images
from mtl_studio.data.errors import DataError
from mtl_studio.data.prepare import load_source, prepare
from mtl_studio.data.profile import profile_table
from mtl_studio.data.project_checks import all_problems
from tests.data.test_image_source_files import image_project, image_source, make_folder, png_bytes


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv(images.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path


# --- reading and checking, without TensorFlow ------------------------------------


def test_an_image_table_has_the_paths_and_the_decoded_shape_in_its_profile(folder):
    csv = make_folder(folder, rows=6)
    table = load_source(image_source(csv, channels=3, size=12), None)
    assert table.kinds["image"] == IMAGE and table.n_rows == 6
    profile = profile_table(table)
    assert profile.columns["image"].shape == (12, 12, 3)
    assert profile.columns["brightness"].shape == ()
    assert isinstance(table.head(2), images.ImageTable)
    assert table.head(2).image_path(1) == folder / "imgs" / "img_1.png"


def test_a_missing_image_is_reported_with_its_row_and_path(folder):
    csv = make_folder(folder, rows=20)
    (folder / "imgs" / "img_15.png").unlink()  # example 15: row 17 (header is row 1)
    with pytest.raises(DataError) as caught:
        load_source(image_source(csv), None)
    assert (caught.value.row, caught.value.column) == (17, "image")
    assert str(caught.value) == (f"{csv}: row 17, column 'image': image not found: imgs/img_15.png")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"hello, this is text\n", "not a PNG or JPEG image"),
        (b"", "the image file is empty"),
        (None, "the PNG file is cut short"),  # a whole PNG, cut in half
        ("crc", "the PNG file is damaged (its IDAT chunk)"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "the JPEG file is cut short"),
    ],
)
def test_an_unreadable_image_is_reported_with_its_row(folder, content, message):
    csv = make_folder(folder, rows=5)
    bad = folder / "imgs" / "img_3.png"
    whole = bad.read_bytes()
    if content is None:
        content = whole[: len(whole) // 2]
    elif content == "crc":
        at = whole.index(b"IDAT") + 6
        content = whole[:at] + bytes([whole[at] ^ 0xFF]) + whole[at + 1 :]
    bad.write_bytes(content)
    with pytest.raises(DataError) as caught:
        load_source(image_source(csv), None)
    assert caught.value.row == 5
    assert message in str(caught.value) and "imgs/img_3.png" in str(caught.value)


def test_absolute_paths_and_paths_out_of_the_folder_are_refused(folder):
    csv = make_folder(folder, rows=3)
    for path, said in (
        (str(folder / "imgs" / "img_1.png"), "an absolute path"),
        ("../x.png", "leaves the CSV file's folder"),
        ("imgs", "a folder, not an image"),
    ):
        text = csv.read_text().replace("imgs/img_1.png", path)
        (folder / "other.csv").write_text(text)
        with pytest.raises(DataError, match=said) as caught:
            load_source(image_source(folder / "other.csv"), None)
        assert caught.value.row == 3


def test_the_image_column_must_be_chosen_and_hold_paths(folder):
    csv = make_folder(folder, rows=3)
    with pytest.raises(DataError, match="no image column is chosen"):
        load_source(dataclasses.replace(image_source(csv), image_column=""), None)
    with pytest.raises(DataError, match="holds numbers, not image paths"):
        load_source(dataclasses.replace(image_source(csv), image_column="brightness"), None)
    with pytest.raises(DataError, match="missing column"):
        load_source(dataclasses.replace(image_source(csv), image_column="photo"), None)


def test_header_shape_and_column_guess(folder):
    csv = make_folder(folder, rows=3)
    assert images.header_shape(folder / "imgs" / "img_0.png") == (8, 8, 1)
    from mtl_studio.data.table import read_csv_head

    assert images.guess_image_column(read_csv_head(csv)) == "image"


def test_the_data_layer_checks_images_without_tensorflow(folder):
    csv = make_folder(folder, rows=4)
    (folder / "imgs" / "img_2.png").unlink()
    code = (
        "import sys\n"
        "from mtl_studio.data.prepare import load_source\n"
        "from mtl_studio.data.errors import DataError\n"
        "from mtl_studio.core.settings import DataSource\n"
        f"s = DataSource('images', path={str(csv)!r}, image_column='image')\n"
        "try:\n    load_source(s, None)\nexcept DataError as e:\n    print(e.row)\n"
        "print('tensorflow' in sys.modules, 'PySide6' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["4", "False", "False"]


# --- validation -------------------------------------------------------------------


def test_validate_reports_a_missing_image_with_its_row(folder):
    csv = make_folder(folder, rows=10)
    project = image_project(csv)
    assert [p for p in all_problems(project) if p.severity == "error"] == []
    (folder / "imgs" / "img_4.png").unlink()
    messages = [p.message for p in all_problems(project)]
    assert any("row 6, column 'image': image not found: imgs/img_4.png" in m for m in messages)


def test_validate_checks_the_input_shape_and_refuses_the_image_as_target(folder):
    csv = make_folder(folder, rows=10)
    project = image_project(csv)
    project.node("image").params["shape"] = [8, 8, 3]
    project.task("brightness").target = ["image"]
    messages = [p.message for p in all_problems(project)]
    assert any("shape (8, 8, 3)" in m and "(8, 8, 1)" in m for m in messages), messages
    assert any("holds images" in m for m in messages)


# --- preparation: decoded by TensorFlow, cached ----------------------------------


def test_prepare_decodes_pngs_and_jpegs_into_arrays_with_both_targets(folder):
    csv = make_folder(folder, rows=20, jpegs=2)
    project = image_project(csv)
    data = prepare(project)
    d = data.datasets[0]
    assert d.train.n + d.val.n == 20 and d.val.n == 5
    x = d.train.inputs["image"]
    assert x.shape == (15, 8, 8, 1) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0  # never standardised
    assert "image" not in data.standardization["inputs"].get("0", {})
    # The targets as for a CSV source: numbers, and class labels as ids.
    assert data.classes["kind"] == ["dark", "light"]
    assert set(np.unique(d.train.targets["kind"])) <= {0, 1}
    # Each image's mean is its brightness column (JPEG within its loss).
    everything = prepare(dataclasses.replace(project) if False else project, scale=False)
    d = everything.datasets[0]
    means = d.train.inputs["image"].mean(axis=(1, 2, 3))
    assert np.allclose(means, d.train.targets["brightness"][:, 0], atol=0.02)


def test_rgb_and_resizing(folder):
    csv = make_folder(folder, rows=6, color=True)
    project = image_project(csv, channels=3, size=5)
    d = prepare(project).datasets[0]
    assert d.train.inputs["image"].shape[1:] == (5, 5, 3)
    gray = image_project(csv, channels=1, size=16)
    assert prepare(gray).datasets[0].train.inputs["image"].shape[1:] == (16, 16, 1)


def test_an_image_that_does_not_decode_is_reported_with_its_row(folder, monkeypatch):
    csv = make_folder(folder, rows=6)

    def decode(paths, shape):
        raise images.ImageDecodeError(2, "Invalid PNG data")

    monkeypatch.setattr(images, "_decoder", decode)
    with pytest.raises(DataError) as caught:
        prepare(image_project(csv))
    assert caught.value.row == 4 and "cannot decode the image (Invalid PNG data)" in str(
        caught.value
    )
    assert "imgs/img_2.png" in str(caught.value)


def test_the_cache_decodes_once_and_again_after_a_change(folder, monkeypatch):
    csv = make_folder(folder, rows=8)
    project = image_project(csv)
    project.data.cache_images = True
    calls = []
    real = images.decoder()

    def counting(paths, shape):
        calls.append(len(paths))
        return real(paths, shape)

    monkeypatch.setattr(images, "_decoder", counting)
    first = prepare(project).datasets[0].train.inputs["image"]
    second = prepare(project).datasets[0].train.inputs["image"]
    assert calls == [8] and np.array_equal(first, second)
    assert len(list((folder / "cache").glob("*.npz"))) == 1
    (folder / "imgs" / "img_0.png").write_bytes(png_bytes(np.zeros((8, 8))))
    prepare(project)
    assert calls == [8, 8] and len(list((folder / "cache").glob("*.npz"))) == 1
    project.data.cache_images = False
    prepare(project)
    assert calls == [8, 8, 8]


# --- the project file ---------------------------------------------------------------


def test_the_file_format_keeps_the_image_fields(folder):
    csv = make_folder(folder, rows=3)
    project = image_project(csv, channels=3, size=16)
    project.data.cache_images = True
    path = folder / "p.mtl.json"
    save(project, path)
    saved = json.loads(path.read_text())["data"]
    assert saved["kind"] == "images" and saved["path"] == "data.csv"
    assert (saved["image_height"], saved["image_channels"], saved["cache_images"]) == (16, 3, True)
    again = load(path)
    assert again.data.kind == "images" and again.data.image_column == "image"
    assert again.data.path == str(csv)
    assert (again.data.image_height, again.data.image_width) == (16, 16)


def test_a_csv_source_writes_no_image_fields(folder):
    project = image_project(make_folder(folder, rows=3))
    project.data = dataclasses.replace(project.data, kind="csv")
    save(project, folder / "p.mtl.json")
    assert "image_height" not in json.loads((folder / "p.mtl.json").read_text())["data"]


@pytest.mark.parametrize(
    "field, value, said",
    [
        ("image_height", 0, "must be 1 to 4096 pixels, got 0"),
        ("image_width", 5000, "must be 1 to 4096 pixels, got 5000"),
        ("image_height", "64", "expected an integer"),
        ("image_channels", 2, "must be 1 (grayscale) or 3 (RGB), got 2"),
        ("cache_images", "yes", "expected true or false"),
        ("image_column", 3, "expected a string"),
    ],
)
def test_bad_image_fields_name_the_field(folder, field, value, said):
    project = image_project(make_folder(folder, rows=3))
    path = folder / "p.mtl.json"
    save(project, path)
    data = json.loads(path.read_text())
    data["data"][field] = value
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectError) as caught:
        load(path)
    assert f"data.{field}" in str(caught.value) and said in str(caught.value)
    assert "\n" not in str(caught.value)


# --- a run ------------------------------------------------------------------------


def test_a_small_image_project_trains_one_epoch_through_the_run_path(folder):
    from mtl_studio.training.run import run_project

    csv = make_folder(folder, rows=20, jpegs=2, color=True)
    project = image_project(csv, channels=3)
    outcome = run_project(project, None, folder / "run")
    assert outcome.finished.status == "completed", outcome.finished.message
    assert outcome.trainer._data.datasets[0].train.inputs["image"].shape == (15, 8, 8, 3)


def test_a_run_with_a_missing_image_stops_before_training_with_its_row(folder):
    from mtl_studio.training.run import run_project

    csv = make_folder(folder, rows=20)
    (folder / "imgs" / "img_15.png").unlink()
    outcome = run_project(image_project(csv), None, folder / "run")
    assert outcome.finished.status == "invalid"
    assert "row 17, column 'image': image not found: imgs/img_15.png" in outcome.finished.message
    assert outcome.finished.step == 0


def test_an_image_run_evaluates_and_predicts_a_csv_of_image_paths(folder):
    import csv as csv_module

    from mtl_studio.training.evaluation import evaluate, open_run, predict_file
    from mtl_studio.training.run import run_project

    csv = make_folder(folder, rows=20)
    outcome = run_project(image_project(csv), None, folder / "run")
    assert outcome.finished.status == "completed", outcome.finished.message
    run = open_run(folder / "run")
    result = evaluate(run, csv, write=False)
    assert set(result["tasks"]) == {t.name for t in run.project.tasks}
    out = folder / "predictions.csv"
    assert predict_file(run, csv, out) == 20
    rows = list(csv_module.reader(out.open()))
    assert len(rows) == 21  # a header and a row per image
    with pytest.raises(DataError, match="an image-folder run reads a .csv file of image paths"):
        evaluate(run, folder / "x.npz", write=False)
    (folder / "imgs" / "img_3.png").unlink()
    with pytest.raises(DataError, match="row 5, column 'image': image not found"):
        predict_file(run, csv, folder / "again.csv")
    assert not (folder / "again.csv").exists()
