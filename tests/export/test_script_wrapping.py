"""Lists the exported script writes over several lines stay valid Python:
an item is never split, whatever its spaces or its length."""

import ast

from hypothesis import given
from hypothesis import strategies as st

from mtl_studio.export.script import _wrapped

NAMES = st.lists(st.text(min_size=1, max_size=150), min_size=1, max_size=40)


@given(items=NAMES, indent=st.integers(0, 12))
def test_a_wrapped_list_reads_back_as_its_items(items, indent):
    code = _wrapped("columns = ", items, "", indent)
    tree = ast.parse(code)  # compiles: no string literal cut in two
    assert ast.literal_eval(tree.body[0].value) == items
    middle = code.split("\n")[1:-1]  # not splitlines: "\x85" is a line end there, not in Python
    for line in middle:
        # Each line holds whole items; only a line of one long item passes the width.
        held = ast.literal_eval(f"[{line}]")
        assert len(line) <= 99 or len(held) == 1
    if middle:
        assert [i for line in middle for i in ast.literal_eval(f"[{line}]")] == items


def test_names_with_spaces_stay_whole():
    items = [f"wall area {i}" for i in range(30)]
    code = _wrapped("x = ", items, "", 4)
    assert len(code.splitlines()) > 3
    assert all(line.strip().startswith(("'", '"', "x =", "]")) for line in code.splitlines())
    assert ast.literal_eval(ast.parse(code).body[0].value) == items
