"""The window survives every file it is asked to open (issue 17): mutated
examples (tests/core/test_project_fuzz.py's mutations) open, or are refused
with a dialog naming the file, and the window keeps its project."""

import os
import tempfile
from pathlib import Path

from hypothesis import given, settings

from tests.core.test_project_fuzz import FUZZ_SETTINGS, mutated_example

# Each case opens a project in a real window: fewer than the loader's fuzz.
WINDOW_EXAMPLES = max(1, int(os.environ.get("MTL_STUDIO_FUZZ_EXAMPLES", "150")) // 5)


def test_the_window_opens_or_refuses_every_mutated_example(make_window):
    window = make_window()

    @settings(max_examples=WINDOW_EXAMPLES, **FUZZ_SETTINGS)
    @given(text=mutated_example)
    def case(text):
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "fuzzed.mtl.json"
            path.write_text(text)
            before, shown = window.document, len(window.messages)
            if window.open_path(path, ask=False):
                assert window.document is not before
            else:
                assert window.document is before  # kept, untouched
                assert len(window.messages) > shown and str(path) in window.messages[-1]
            window.document.undo_stack.set_clean()

    case()
