"""Plot ranges that stay put while the data grow (no Qt)."""

import math

from hypothesis import given
from hypothesis import strategies as st

from mtl_studio.ui.plot_ranges import log_y_bounds, round_up, x_end, y_bounds

finite = st.floats(-1e12, 1e12, allow_nan=False)
positive = st.floats(1e-12, 1e12, allow_nan=False)


@given(positive)
def test_round_up_gives_the_next_1_2_or_5_times_a_power_of_ten(value):
    rounded = round_up(value)
    assert rounded >= value * (1 - 1e-9)
    mantissa = rounded / 10 ** math.floor(math.log10(rounded) + 1e-12)
    assert any(math.isclose(mantissa, m, rel_tol=1e-9) for m in (1, 2, 5, 10))
    assert rounded < value * 5.0001  # never more than one 1-2-5 step up


@given(finite, st.floats(0, 1e9), st.one_of(st.none(), st.floats(0, 1e10)))
def test_the_x_range_always_holds_the_data_and_stops_at_the_cap(first, span, cap):
    last = first + span
    cap = None if cap is None else first + cap
    end = x_end(first, last, cap)
    assert end >= last
    if cap is not None and cap >= last and cap > first:
        assert end <= cap


def test_the_x_range_changes_a_few_times_per_decade():
    ends = {x_end(1, last) for last in range(2, 10_001)}
    assert len(ends) <= 15  # 10,000 steps: a handful of ranges, not 10,000
    assert x_end(1, 1000, cap=1200) == 1200  # the run ends at step 1,200
    assert x_end(1, 1200, cap=1200) == 1200


@given(finite, finite)
def test_y_bounds_hold_the_data_on_round_numbers(a, b):
    lo, hi = min(a, b), max(a, b)
    low, high = y_bounds(lo, hi)
    assert low <= lo and high >= hi and high > low
    assert math.isfinite(low) and math.isfinite(high)


def test_a_falling_loss_changes_its_y_range_seldom():
    losses = 1.0 / (1 + 0.01 * __import__("numpy").arange(10_000))  # 1 down to 0.0099
    ranges = set()
    lo = 1.0
    for value in losses:
        lo = min(lo, float(value))
        ranges.add(y_bounds(lo, 1.0))
    assert len(ranges) <= 30


def test_a_constant_gets_a_range_around_it():
    low, high = y_bounds(1.0, 1.0)
    assert low < 1.0 < high
    assert y_bounds(0.0, 0.0)[0] < 0 < y_bounds(0.0, 0.0)[1]


@given(positive, positive)
def test_log_bounds_are_half_decades_around_the_positive_data(a, b):
    lo, hi = min(a, b), max(a, b)
    low, high = log_y_bounds(lo, hi)
    assert low <= math.log10(lo) + 1e-9 and high >= math.log10(hi) - 1e-9
    assert math.isclose(low * 2, round(low * 2)) and math.isclose(high * 2, round(high * 2))
    assert log_y_bounds(0.0, 5.0) == (0.0, 1.0)  # nothing positive: a default
