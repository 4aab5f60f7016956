"""`mtl-studio export --diagram / --script` and `mtl-studio import`."""

import pytest

from tests.cli.test_cli import broken, run  # noqa: F401  (broken is a fixture)


def test_export_a_diagram_of_an_example(capsys, tmp_path, qapp):
    code, out, _ = run(capsys, "export", "energy", "--diagram", str(tmp_path / "e.svg"))
    assert code == 0 and "wrote the diagram" in out
    text = (tmp_path / "e.svg").read_text()
    assert "<svg" in text and "heating" in text


def test_a_diagram_of_a_project_with_errors_is_still_written(capsys, tmp_path, broken, qapp):
    code, _, _ = run(capsys, "export", str(broken), "--diagram", str(tmp_path / "b.png"))
    assert code == 0 and (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "args, words",
    [
        (["--diagram", "{tmp}/d.pdf"], ".svg or .png"),
        (["--diagram", "{tmp}/missing/d.svg"], "does not exist"),
        (["--script", "{tmp}/missing/t.py"], "does not exist"),
        ([], "say what to write"),
    ],
)
def test_export_refuses_bad_targets_with_a_message(capsys, tmp_path, args, words):
    args = [a.format(tmp=tmp_path) for a in args]
    code, _, err = run(capsys, "export", "energy", *args)
    assert code == 2 and words in err and "Traceback" not in err


def test_import_refuses_a_missing_model(capsys, tmp_path):
    code, _, err = run(capsys, "import", str(tmp_path / "none.keras"), str(tmp_path / "p.mtl.json"))
    assert code == 2 and "none.keras" in err and "Traceback" not in err


def test_import_needs_a_project_file_name(capsys, tmp_path):
    code, _, err = run(capsys, "import", str(tmp_path / "m.keras"), str(tmp_path / "p.txt"))
    assert code == 2 and ".mtl.json" in err
