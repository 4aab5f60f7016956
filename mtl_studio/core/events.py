"""A minimal event emitter: the project tells its views what changed.

Views (canvas, inspector, lists) connect a callback and disconnect it when
they close; the core never knows who listens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Event:
    """What changed: a type such as "node_added" and its details."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


Callback = Callable[[Event], None]


class EventEmitter:
    def __init__(self) -> None:
        self._callbacks: list[Callback] = []

    def connect(self, callback: Callback) -> None:
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callback) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, type: str, **data: Any) -> None:
        event = Event(type, data)
        # Copy: a callback may disconnect itself while we iterate.
        for callback in list(self._callbacks):
            callback(event)

    @property
    def listener_count(self) -> int:
        return len(self._callbacks)
