"""Connecting a view to the objects it follows, and letting go of them."""

from __future__ import annotations


def connect_all(pairs, on: bool) -> None:
    """Connect each (signal, slot) pair, or disconnect it: a pair already
    gone (its object deleted, or never connected) is no error."""
    for signal, slot in pairs:
        if on:
            signal.connect(slot)
        else:
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
