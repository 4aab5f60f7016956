"""Small helpers for the words of messages, so every message counts the
same way ("1 unit", "3 units")."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 unit", "3 units"; `plural` for nouns that do not just take an s
    ("1 class", "2 classes")."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
