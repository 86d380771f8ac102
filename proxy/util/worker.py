"""Which worker this process is, when `vaccine run --workers N` started several."""

from __future__ import annotations

import os

#: set for each worker by the supervisor: `NUMBER/COUNT`, the first worker being 0
WORKER_ENV = "VACCINE_WORKER"


def worker() -> tuple[int, int] | None:
    """(this worker's number, how many) when this process is one of several workers."""
    number, _, count = os.environ.get(WORKER_ENV, "").partition("/")
    if number.isdigit() and count.isdigit():
        return int(number), int(count)
    return None


#: a pipe to the supervisor: one byte once this worker listens
READY_FD_ENV = "VACCINE_WORKER_READY_FD"


def announce_ready() -> None:
    """Tell the supervisor this worker is listening (nothing when there is none)."""
    fd = os.environ.pop(READY_FD_ENV, "")
    if not fd.isdigit():
        return
    try:
        os.write(int(fd), b"1")
        os.close(int(fd))
    except OSError:
        pass
