"""The typed messages the dashboard's workers post to the app."""

from __future__ import annotations

from textual.message import Message

from vaccine.dashboard.snapshot import Request, Snapshot


class SnapshotLoaded(Message):
    """A poll of the log finished."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class RequestAnswered(Message):
    """An approve or deny finished; `error` is a one-line reason when it failed."""

    def __init__(self, request: Request, verb: str, error: str | None = None) -> None:
        super().__init__()
        self.request = request
        self.verb = verb
        self.error = error
