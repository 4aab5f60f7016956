"""Small helpers for the words of messages, so every message counts the
same way ("1 unit", "3 units")."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 unit", "3 units"; `plural` for nouns that do not just take an s
    ("1 class", "2 classes")."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


# A message longer than this is cut in its middle (the file and the place
# stay at its start): a field name or a value may be megabytes long.
MAX_MESSAGE = 2000


def one_line(text: str) -> str:
    """The message on one line: a line break, tab or other unprintable
    character (in a field name, say) is written escaped, as repr writes it,
    and a message over MAX_MESSAGE characters is shortened."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(text) > MAX_MESSAGE:
        keep = MAX_MESSAGE // 2 - 10
        text = f"{text[:keep]} ... {text[-keep:]}"
    return text
