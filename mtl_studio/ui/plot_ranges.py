"""Axis ranges for live plots that change seldom.

A plot whose range follows its data to the last digit changes its range at
every redraw, and a range change is the costly part of a redraw: the axes
regenerate their ticks and text, every curve is downsampled and its path
rebuilt, and pyqtgraph paints again once its auto range settles. These
functions round a data range outward to numbers that stay put while the data
grow: the x axis to 1, 2 or 5 times a power of ten past the last point (a few
changes per decade of steps), the y axis to a multiple of a round step (a
change only when the data cross a grid line of the current scale).

Plain Python and numpy: no Qt, so they are tested alone.
"""

from __future__ import annotations

import math

# The x range reaches at least this share of its span past the last point,
# so a range is not outgrown at the next redraw.
X_HEADROOM = 0.05
Y_STEPS_PER_SPAN = 5  # the y range is about this many round steps tall


def round_up(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is >= value (value > 0)."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for factor in (1.0, 2.0, 5.0, 10.0):
        if factor * power >= value * (1 - 1e-12):
            return factor * power
    return 10.0 * power


def x_end(first: float, last: float, cap: float | None = None) -> float:
    """Where the x axis ends for data from `first` to `last`: the first round
    number at least X_HEADROOM of the span past `last` (counted from
    `first`), never past `cap` (the run's last step, when known) but never
    before `last`."""
    span = max(last - first, 0.0)
    end = first + round_up(span * (1 + X_HEADROOM)) if span > 0 else last + 1.0
    if cap is not None and math.isfinite(cap) and cap > first:
        end = min(end, max(cap, last))
    return max(end, last)


def y_bounds(lo: float, hi: float) -> tuple[float, float]:
    """[lo, hi] rounded outward to multiples of a round step of about a
    fifth of the span. An empty span (a constant curve) gets a range of its
    own size around it."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return (0.0, 1.0)
    if hi < lo:
        lo, hi = hi, lo
    span = hi - lo
    if span <= 1e-12 * max(abs(lo), abs(hi), 1e-300):
        half = abs(hi) / 2 if hi != 0 else 0.5
        lo, hi = lo - half, hi + half
        span = hi - lo
    step = round_up(span / Y_STEPS_PER_SPAN)
    low, high = math.floor(lo / step) * step, math.ceil(hi / step) * step
    # Rounding in the division can land a hair inside (tiny, denormal values).
    low = low - step if low > lo else low
    high = high + step if high < hi else high
    return (low, high if high > low else low + step)


def log_y_bounds(lo_positive: float, hi: float) -> tuple[float, float]:
    """The range of a log axis in pyqtgraph's coordinates (log10 of the
    values), rounded outward to half decades. lo_positive is the smallest
    positive value: zero and negative values have no place on a log axis."""
    if not (lo_positive > 0 and math.isfinite(lo_positive)):
        return (0.0, 1.0)
    if not (hi >= lo_positive and math.isfinite(hi)):
        hi = lo_positive
    low = math.floor(math.log10(lo_positive) * 2) / 2
    high = math.ceil(math.log10(hi) * 2) / 2
    return (low, high if high > low else low + 0.5)
