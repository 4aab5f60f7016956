"""A fuzz test over project files (issue 17): mutations of the bundled
examples (random JSON values replaced by hostile ones: huge integers, NaN
and Infinity written as text, strings with line breaks, null, nested lists,
wrong types; keys deleted or renamed with line breaks; bytes that are not
UTF-8) must either load or be refused with a one-line ProjectError naming
the file; a loaded project must validate, count its weights, find its roles,
print `mtl-studio show`'s summary, save and export a training script that
parses, each within a time bound.

Runs FUZZ_EXAMPLES examples (150 by default, some 10 to 20 seconds); set the
environment variable MTL_STUDIO_FUZZ_EXAMPLES for a longer campaign, e.g.
MTL_STUDIO_FUZZ_EXAMPLES=5000 pytest tests/core/test_project_fuzz.py
"""

import contextlib
import copy
import io
import json
import os
import tempfile
import time
from argparse import Namespace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtl_studio.core import fileformat as ff
from mtl_studio.core.validation import infer_shapes, parameter_count, validate
from mtl_studio.examples import examples
from mtl_studio.core.wording import MAX_MESSAGE

FUZZ_EXAMPLES = int(os.environ.get("MTL_STUDIO_FUZZ_EXAMPLES", "150"))
# Seconds one case may take: loading, validating and summing up the largest
# bundled example takes a few hundredths.
BOUND = 5.0

EXAMPLES = {name: json.loads(Path(path).read_text()) for name, path in examples().items()}

HOSTILE = [
    10**400,
    -(10**400),
    2**31,
    2**32,
    2**63,
    3 * 10**9,
    10**12,
    1e308,
    -1e308,
    0.5,
    -1,
    0,
    "NaN",  # written as NaN, Infinity, -Infinity: see _text
    "Infinity",
    "-Infinity",
    None,
    True,
    "",
    "t\n",
    "64",
    "a\nb\rc",
    "x" * 3000,
    "\x00",
    [],
    {},
    [[[[[]]]]],
    [1.5],
    ["x", None],
    {"a": 1},
]


def _places(value, here=()):
    """Every place in a JSON value, as a tuple of keys and indexes."""
    found = [here]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _places(item, here + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _places(item, here + (i,))
    return found


def _parent(root, place):
    for key in place[:-1]:
        root = root[key]
    return root


def _mutate(data, choices):
    """Apply one mutation per (place index, action, value index) triple."""
    for where, action, what in choices:
        places = [p for p in _places(data) if p]
        if not places:
            break
        place = places[where % len(places)]
        parent, key = _parent(data, place), place[-1]
        if action == "delete" and isinstance(parent, dict):
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[f"{key}\n"] = parent.pop(key)
        elif action == "nest":
            value = parent[key]
            for _ in range(what % 50 + 1):
                value = [value]
            parent[key] = value
        else:
            parent[key] = copy.deepcopy(HOSTILE[what % len(HOSTILE)])
    return data


def _text(data, raw_numbers: bool) -> str:
    text = json.dumps(data)
    if raw_numbers:  # what json.loads reads back as non-finite floats
        for word in ("NaN", "Infinity", "-Infinity"):
            text = text.replace(f'"{word}"', word)
    return text


mutation = st.tuples(
    st.integers(0, 10**6),
    st.sampled_from(["replace", "replace", "replace", "delete", "rename", "nest"]),
    st.integers(0, 10**6),
)


def _check_case(raw: bytes, folder: Path) -> None:
    path = folder / "fuzzed.mtl.json"
    path.write_bytes(raw)
    started = time.perf_counter()
    try:
        project = ff.load(path)
    except ff.ProjectError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: "), message[:300]
        assert "\n" not in message and "\r" not in message, message[:300]
        assert len(message) <= MAX_MESSAGE + len(str(path)), len(message)
    else:
        validate(project)
        shapes, _ = infer_shapes(project)
        parameter_count(project, shapes)
        project.roles()
        _show(path)
        ff.dumps(project)
        _export_script(project, folder)
    assert time.perf_counter() - started < BOUND


def _export_script(project, folder: Path) -> None:
    """`mtl-studio export --script` of a project without errors: the script's
    text, or a one-line ScriptExportError (never another exception)."""
    from mtl_studio.core.validation import errors
    from mtl_studio.export.script import ScriptExportError, script_text

    if errors(validate(project)):
        return  # export refuses it, listing the problems
    try:
        text = script_text(project, folder)
    except ScriptExportError as exc:
        assert "\n" not in str(exc), str(exc)[:300]
    else:
        compile(text, "script.py", "exec")  # a script that does not parse would not run


def _show(path: Path) -> None:
    """`mtl-studio show`'s summary, with validation but without reading data
    (a generator of ten million examples is refused by its own check, not
    generated here)."""
    from mtl_studio import cli
    from mtl_studio.data import project_checks

    real = project_checks.all_problems
    project_checks.all_problems = lambda project, folder=None: validate(project)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli.cmd_show(Namespace(project=str(path))) in (cli.EXIT_OK, cli.EXIT_PROBLEMS)
    finally:
        project_checks.all_problems = real


# A mutated example as a file's text: the window's fuzz test opens them too.
mutated_example = st.builds(
    lambda name, mutations, raw_numbers: _text(
        _mutate(copy.deepcopy(EXAMPLES[name]), mutations), raw_numbers
    ),
    st.sampled_from(sorted(EXAMPLES)),
    st.lists(mutation, min_size=1, max_size=4),
    st.booleans(),
)
FUZZ_SETTINGS = dict(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@settings(max_examples=FUZZ_EXAMPLES, **FUZZ_SETTINGS)
@given(
    text=mutated_example,
    garbage=st.one_of(st.none(), st.tuples(st.integers(0, 10**6), st.binary(min_size=1))),
)
def test_mutated_examples_load_or_are_refused_in_one_line(text, garbage):
    raw = text.encode("utf-8")
    if garbage is not None:  # bytes spliced in: often not UTF-8, often not JSON
        at, junk = garbage
        at %= len(raw) + 1
        raw = raw[:at] + junk + raw[at:]
    with tempfile.TemporaryDirectory() as folder:
        _check_case(raw, Path(folder))


def test_every_bundled_example_passes_the_checks_unchanged():
    with tempfile.TemporaryDirectory() as folder:
        for name in sorted(EXAMPLES):
            _check_case(json.dumps(EXAMPLES[name]).encode(), Path(folder))


def test_found_by_the_campaign_a_long_column_name_in_the_exported_script():
    """4,000 cases found it: a column list written to the script was wrapped
    by a text wrapper, which broke a long (or spaced) name's string literal."""
    found = _mutate(copy.deepcopy(EXAMPLES["energy_mixed"]), [(237850, "replace", 999999)])
    with tempfile.TemporaryDirectory() as folder:
        _check_case(json.dumps(found).encode(), Path(folder))


def test_found_by_the_campaign_an_unknown_generator_is_a_validation_error():
    """A generator named "NaN" passed validation and broke the script's export."""
    found = _mutate(copy.deepcopy(EXAMPLES["tickets"]), [(187, "replace", 186)])
    project = ff.loads(json.dumps(found))
    assert project.data.generator == "NaN"
    (problem,) = [p for p in validate(project, {}) if p.place.kind == "data"]
    assert problem.message.startswith("unknown generator 'NaN': choose one of tutorial_uniform")
    with tempfile.TemporaryDirectory() as folder:
        _check_case(json.dumps(found).encode(), Path(folder))
