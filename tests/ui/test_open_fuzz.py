"""The window survives every file it is asked to open (issue 17): mutated
examples (tests/core/test_project_fuzz.py's mutations) open, or are refused
with a dialog naming the file, and the window keeps its project."""

import copy
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.test_project_fuzz import EXAMPLES, _mutate, _text, mutation

# Each case opens a project in a real window: fewer than the loader's fuzz.
WINDOW_EXAMPLES = max(1, int(os.environ.get("MTL_STUDIO_FUZZ_EXAMPLES", "150")) // 5)


def test_the_window_opens_or_refuses_every_mutated_example(make_window):
    window = make_window()

    @settings(
        max_examples=WINDOW_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        name=st.sampled_from(sorted(EXAMPLES)),
        mutations=st.lists(mutation, min_size=1, max_size=4),
        raw_numbers=st.booleans(),
    )
    def case(name, mutations, raw_numbers):
        data = _mutate(copy.deepcopy(EXAMPLES[name]), mutations)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "fuzzed.mtl.json"
            path.write_text(_text(data, raw_numbers))
            before, shown = window.document, len(window.messages)
            if window.open_path(path, ask=False):
                assert window.document is not before
            else:
                assert window.document is before  # kept, untouched
                assert len(window.messages) > shown and str(path) in window.messages[-1]
            window.document.undo_stack.set_clean()

    case()
