"""How an exception is shown where privacy matters: its type and where it was raised."""

from __future__ import annotations

import os
import traceback


def where(exc_info: object) -> str:
    """`ValueError at hosts.py:88`: the exception's type and its innermost frame, nothing it
    carries (a message can hold a host name or a path)."""
    if not isinstance(exc_info, tuple) or exc_info[0] is None:
        return ""
    kind, _, tb = exc_info
    frames = traceback.extract_tb(tb)
    at = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    return f" ({kind.__name__}{at})"
