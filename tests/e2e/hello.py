"""Hand-made TLS ClientHellos, for the server names a real TLS library would never send."""

from __future__ import annotations

import os
import struct


def _u16(n: int) -> bytes:
    return struct.pack("!H", n)


def server_name_extension(names: list[tuple[int, bytes]]) -> bytes:
    """A server_name extension listing (name type, name) pairs as given, unchecked."""
    entries = b"".join(bytes([kind]) + _u16(len(name)) + name for kind, name in names)
    body = _u16(len(entries)) + entries
    return _u16(0) + _u16(len(body)) + body


def client_hello(extensions: list[bytes]) -> bytes:
    """One TLS record holding a TLS 1.2/1.3 ClientHello with exactly these extensions."""
    exts = b"".join(extensions)
    body = (
        b"\x03\x03" + os.urandom(32)  # client version, random
        + b"\x00"  # no session id
        + _u16(4) + b"\x13\x01\xc0\x2f"  # TLS_AES_128_GCM_SHA256, ECDHE-RSA-AES128-GCM
        + b"\x01\x00"  # no compression
        + _u16(len(exts)) + exts
    )  # fmt: skip
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + _u16(len(handshake)) + handshake


def with_names(*names: tuple[int, bytes], repeat: int = 1) -> bytes:
    return client_hello([server_name_extension(list(names))] * repeat)
