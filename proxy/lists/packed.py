"""The packed table of list entries, and the lookups over it (see proxy.lists.index).

Each entry is a 56-bit hash (CRC-32 of the name, then 24 bits of the CRC-32 of the name
reversed) in one sorted array beside a one-byte index into a palette of category masks, with a
bucket directory on the top 16 bits and a one-hash Bloom filter, so most misses cost one CRC
and no search.
"""

from __future__ import annotations

import array
import bisect
import functools
import os
import zlib
from collections.abc import Callable

try:  # the same walk in C (proxy/lists/cwalk.c), built when the install found a compiler
    from vaccine.proxy.lists import cwalk
except ImportError:  # pragma: no cover - a build without a C compiler
    cwalk = None  # type: ignore[assignment]

#: Set VACCINE_PURE_LOOKUP=1 to walk in Python even when the C walk is built (the tests hold
#: the two to the same answers; a bench can compare them).
PURE = os.environ.get("VACCINE_PURE_LOOKUP", "") not in ("", "0")


def is_address(host: str) -> bool:
    """For a normalised host: an IPv6 has colons, an IPv4 a numeric last label (a TLD never)."""
    return ":" in host or (host[-1:].isdigit() and host[host.rfind(".") + 1 :].isdigit())


# An entry's hash: CRC-32 of the name in the top 32 of 56 bits, the top 24 bits of the CRC-32 of
# the name reversed below it. Built as `hash << 8 | palette id` keys, which fit in 64 bits, so
# compiling sorts compact arrays and never a list of every entry at once.
_LOW24 = 0xFFFFFF00


def entry_key(b: bytes, pid: int) -> int:
    return zlib.crc32(b) << 32 | (zlib.crc32(b[::-1]) & _LOW24) | pid


#: An array built here, or a view of the mapped index file: both index like a list of ints.
Ints = array.array | memoryview | bytearray

BLOOM_BITS = 10  # per entry, one hash: ~9.5 % of misses go on to a search


class Packed:
    """Sorted 56-bit hashes, each entry's categories as an index into a palette of masks (one
    byte an entry, two when over 255 combinations exist), a bucket directory on the top 16
    bits, and a one-hash Bloom filter of BLOOM_BITS an entry, so most misses cost one CRC and no
    search: ~10.3 bytes an entry in all."""

    __slots__ = ("hashes", "masks", "palette", "buckets", "bloom", "bloom_bits")

    def __init__(
        self, hashes: Ints, masks: Ints, palette: tuple[int, ...], buckets: Ints, bloom: Ints
    ) -> None:
        self.hashes = hashes
        self.masks = masks
        self.palette = palette
        self.buckets = buckets
        self.bloom = bloom
        self.bloom_bits = len(bloom) * 8

    @classmethod
    def build(cls, runs: list[array.array], palette: list[int]) -> Packed:
        """From sorted runs of `hash << 8 | palette id` keys (a name in two runs — UT1's
        redirector and strong_redirector are one file — has its masks OR-ed).

        Merged one slice of the hash space at a time: the sorted pieces of every run that fall
        in it, a small sort, and out. Peak memory is the arrays plus one slice of Python ints."""
        hashes = array.array("Q")
        merged: list[int] = []  # each entry's mask
        for t in range(256):
            lo_key, hi_key = t << 56, (t + 1) << 56
            piece: list[int] = []
            for run in runs:
                piece += run[bisect.bisect_left(run, lo_key) : bisect.bisect_left(run, hi_key)]
            piece.sort()
            last = -1
            for k in piece:
                h = k >> 8
                if h == last:
                    merged[-1] |= palette[k & 0xFF]
                else:
                    hashes.append(h)
                    merged.append(palette[k & 0xFF])
                    last = h
        ids: dict[int, int] = {}
        for m in merged:
            ids.setdefault(m, len(ids))
        masks = array.array("B" if len(ids) <= 256 else "H", [ids[m] for m in merged])
        del merged
        n = len(hashes)
        nbits = max(1024, n * BLOOM_BITS + 7) // 8 * 8
        bloom = bytearray(nbits // 8)
        for h in hashes:
            b = (h >> 24) % nbits
            bloom[b >> 3] |= 1 << (b & 7)
        buckets = array.array("I", (bisect.bisect_left(hashes, t << 40) for t in range(65537)))
        return cls(hashes, masks, tuple(ids), buckets, bloom)

    def __len__(self) -> int:
        return len(self.hashes)


Small = dict[int, tuple[tuple[int, int], ...]]  # CRC-32 → (56-bit hash, mask), …


def lookup(t: Packed, small: Small, host: str) -> int:
    """The OR of the masks of every entry of `t` and of `small` covering `host`."""
    # _walk and the search, inlined: this runs for every host, and a call per suffix was a
    # third of the time.
    bloom, nbits, buckets, hashes = t.bloom, t.bloom_bits, t.buckets, t.hashes
    masks, palette = t.masks, t.palette
    crc32, bisect_left = zlib.crc32, bisect.bisect_left
    address = is_address(host)
    b = host.encode()
    dot = 0 if address else b.find(b".")
    m = 0
    while dot >= 0:
        crc = crc32(b)
        bit = crc % nbits
        if bloom[bit >> 3] >> (bit & 7) & 1:
            h = crc << 24 | crc32(b[::-1]) >> 8
            top = crc >> 16
            hi = buckets[top + 1]
            i = bisect_left(hashes, h, buckets[top], hi)
            if i < hi and hashes[i] == h:
                m |= palette[masks[i]]
        if crc in small:
            h = crc << 24 | crc32(b[::-1]) >> 8
            for entry, mask in small[crc]:
                if entry == h:
                    m |= mask
        if address:
            break
        b = b[dot + 1 :]
        dot = b.find(b".")
    return m


def lookup2(t: Packed, u: Packed, host: str) -> int:
    """`lookup` of two tables in one walk: each suffix is encoded and hashed once."""
    crc32, bisect_left = zlib.crc32, bisect.bisect_left
    address = is_address(host)
    b = host.encode()
    dot = 0 if address else b.find(b".")
    m = 0
    while dot >= 0:
        crc = crc32(b)
        rev = -1
        for x in (t, u):
            bit = crc % x.bloom_bits
            if x.bloom[bit >> 3] >> (bit & 7) & 1:
                if rev < 0:
                    rev = crc32(b[::-1]) >> 8
                h = crc << 24 | rev
                top = crc >> 16
                hi = x.buckets[top + 1]
                i = bisect_left(x.hashes, h, x.buckets[top], hi)
                if i < hi and x.hashes[i] == h:
                    m |= x.palette[x.masks[i]]
        if address:
            break
        b = b[dot + 1 :]
        dot = b.find(b".")
    return m


#: host → (lookup's mask, the OR of `url_any`'s masks over the same names, host_suffixes(host)
#: or None for an address): Lists.walk's one walk, in C.
Walk = Callable[[str], tuple[int, int, tuple[str, ...] | None]]


def walkers(
    t: Packed, local: Packed | None, small: Small | None, url_any: dict[str, int] | None
) -> tuple[Callable[[str], int], Walk | None]:
    """host → the OR of the masks of every entry covering it, in `t`, in `local` (a second
    table) and in `small` (local/ as a dict, when it is small): in C when it is built (~0.8 µs
    a host over 5 M entries, against ~2.8 µs in Python), else `lookup` or `lookup2`; and, in C
    only, the same walk that also ORs the masks of `url_any` (name → mask) and returns the
    host's suffixes."""
    tables = None
    if cwalk is not None and not PURE:
        try:
            tables = tuple(cwalk.Table(x.hashes, x.masks, x.palette, x.buckets, x.bloom)
                           for x in (t, local) if x is not None)  # fmt: skip
        except (ValueError, TypeError, OverflowError):
            tables = None  # a table it does not take (a palette over 64 bits): Python's
    if tables is not None:
        small = small or None
        return (
            functools.partial(cwalk.lookup, tables, small),
            functools.partial(cwalk.walk, tables, small, url_any or None),
        )
    if local is not None:
        return functools.partial(lookup2, t, local), None
    return functools.partial(lookup, t, small or {}), None
