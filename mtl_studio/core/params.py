"""Parameter specifications: the type, default and allowed values of one
layer parameter, and the check that turns a raw value into a clean one.

A check raises ValueError with a message that completes the sentence
"<where>: ...", e.g. "expected a positive integer, got -4", so the same
text serves the file loader, the inspector and validation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Shape = tuple  # tuple of int or None (None: any length, e.g. a sequence)

# The largest value of an integer parameter that sets no maximum of its own
# (units, filters, a shape's dimensions, ...): far beyond any network that
# fits in memory, and what the inspector's spin boxes hold (a QSpinBox
# cannot hold more than 2**31 - 1). docs/project-format.md lists the limits.
MAX_INT = 1_000_000
# The most dimensions a shape may have (Keras' own layers use up to 5).
MAX_RANK = 8
# A rendering of a bad value longer than this is cut (a message stays short).
_DESCRIBE_LIMIT = 80


def describe(value: Any) -> str:
    """A short, user-facing rendering of a bad value: one line, at most
    about 80 characters (a long string, list or number is cut)."""
    if isinstance(value, str):
        text = repr(value)
    elif value is None:
        return "null"
    elif isinstance(value, bool):
        return "true" if value else "false"
    elif isinstance(value, int) and abs(value) >= 10**30:
        # str() of an int past Python's digit limit raises: say its size.
        sign = "a negative" if value < 0 else "an"
        return f"{sign} integer of about {int(abs(value).bit_length() * 0.30103) + 1} digits"
    else:
        try:
            text = repr(value) if isinstance(value, float) else str(value)
        except (ValueError, RecursionError):  # huge ints inside, or deep nesting
            text = f"a {type(value).__name__}"
    return _cut(text)


def _cut(text: str) -> str:
    return text if len(text) <= _DESCRIBE_LIMIT else text[: _DESCRIBE_LIMIT - 4] + " ..."


def number_text(value: float) -> str:
    """A bound as a message says it: 1000000 rather than 1e+06."""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        if abs(value) < 10**16:
            return f"{int(value):,}".replace(",", "")
    return f"{value:g}"


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str  # "int", "float", "bool", "choice", "shape"
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    # Whether the bounds themselves are allowed.
    min_inclusive: bool = True
    max_inclusive: bool = True
    choices: tuple = ()
    # For "shape": whether None (any length) and -1 (infer) may appear.
    allow_none: bool = False
    allow_minus_one: bool = False
    help: str = ""

    def check(self, value: Any) -> Any:
        """Return the value in canonical form or raise ValueError."""
        checker = getattr(self, "_check_" + self.type)
        return checker(value)

    def _range_text(self) -> str:
        lo, hi = self.minimum, self.maximum
        if lo is not None and hi is not None:
            left = "[" if self.min_inclusive else "("
            right = "]" if self.max_inclusive else ")"
            return f"in {left}{number_text(lo)}, {number_text(hi)}{right}"
        if lo is not None:
            return f"{'>=' if self.min_inclusive else '>'} {number_text(lo)}"
        if hi is not None:
            return f"{'<=' if self.max_inclusive else '<'} {number_text(hi)}"
        return ""

    def _in_range(self, v: float) -> bool:
        if self.minimum is not None:
            if v < self.minimum or (v == self.minimum and not self.min_inclusive):
                return False
        if self.maximum is not None:
            if v > self.maximum or (v == self.maximum and not self.max_inclusive):
                return False
        return True

    def _check_int(self, value: Any) -> int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value, ok = int(value), True
        if not ok or not self._in_range(value):
            if self.minimum == 1 and (not ok or value < 1):
                wanted = "a positive integer"
            else:
                wanted = f"an integer {self._range_text()}".rstrip()
            raise ValueError(f"expected {wanted}, got {describe(value)}")
        if self.maximum is None and abs(value) > MAX_INT:
            lo = -MAX_INT if self.minimum is None else self.minimum
            raise ValueError(
                f"expected an integer in [{number_text(lo)}, {MAX_INT}] (the largest this "
                f"parameter takes), got {describe(value)}"
            )
        return value

    def _check_float(self, value: Any) -> float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and isinstance(value, int) and abs(value) > 1e300:
            ok = False  # too large for a float (OverflowError in isfinite)
        if not ok or not math.isfinite(value) or not self._in_range(value):
            wanted = f"a number {self._range_text()}".rstrip()
            raise ValueError(f"expected {wanted}, got {describe(value)}")
        return float(value)

    def _check_bool(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {describe(value)}")
        return value

    def _check_choice(self, value: Any) -> str:
        if value not in self.choices:
            options = ", ".join(str(c) for c in self.choices)
            raise ValueError(f"expected one of {options}, got {describe(value)}")
        return value

    def _check_shape(self, value: Any) -> Shape:
        if isinstance(value, str):
            value = parse_shape(value)
        if not isinstance(value, (list, tuple)) or len(value) == 0:
            raise ValueError(f"expected a shape such as [10] or [28, 28, 1], got {describe(value)}")
        dims = []
        for d in value:
            if d is None and self.allow_none:
                dims.append(None)
            elif (
                isinstance(d, int)
                and not isinstance(d, bool)
                and (1 <= d <= MAX_INT or (d == -1 and self.allow_minus_one))
            ):
                dims.append(d)
            else:
                extra = ""
                if self.allow_none:
                    extra = " or null for any length"
                if self.allow_minus_one:
                    extra += " or -1 for 'the rest'"
                raise ValueError(
                    f"expected each dimension to be a positive integer (at most {MAX_INT})"
                    f"{extra}, got {describe(d)} in {_cut(format_shape(value))}"
                )
        if len(dims) > MAX_RANK:
            raise ValueError(f"expected at most {MAX_RANK} dimensions, got {len(dims)}")
        if dims.count(-1) > 1:
            raise ValueError(f"only one dimension may be -1, got {format_shape(dims)}")
        return tuple(dims)


def parse_shape(text: str) -> list:
    """Parse "28, 28, 1" or "(None, 8)" as typed in a shape editor."""
    inner = text.strip().strip("()[]").strip()
    if not inner:
        return []
    out: list = []
    for part in inner.split(","):
        part = part.strip()
        if not part:
            continue
        if part.lower() in ("none", "null", "?"):
            out.append(None)
            continue
        try:
            out.append(int(part))
        except ValueError:
            raise ValueError(f"expected a shape such as 28, 28, 1, got {text!r}") from None
    return out


def format_shape(shape) -> str:
    """(8, 8, 16) -> "(8, 8, 16)"; (10,) -> "(10,)"; None dims shown as None."""
    dims = ["None" if d is None else describe(d) for d in shape]
    if len(dims) == 1:
        return f"({dims[0]},)"
    return "(" + ", ".join(dims) + ")"
