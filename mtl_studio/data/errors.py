"""The one error of the data layer: a message with its place.

Rule 7 of docs/architecture.md: errors carry a place. The UI can point at
the file, row and column from the attributes; str() gives the line the CLI
prints.
"""

from __future__ import annotations

from ..core.wording import one_line


class DataError(Exception):
    """A data problem the user can fix; the message says what to change.

    `row` is the row a person sees in a spreadsheet (for CSV the header is
    row 1, so the first example is row 2); None where it is not known or
    the data has no rows (NPZ arrays, generators).
    """

    def __init__(
        self,
        message: str,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.row = row
        self.column = column

    def __str__(self) -> str:
        place = []
        if self.row is not None:
            place.append(f"row {self.row}")
        if self.column is not None:
            place.append(f"column '{self.column}'")
        text = f"{', '.join(place)}: {self.message}" if place else self.message
        # One line whatever a column's name or a cell holds (core/wording.py).
        return one_line(f"{self.file}: {text}" if self.file else text)
