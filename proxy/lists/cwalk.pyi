# The C walk's interface (proxy/lists/cwalk.c).
from vaccine.proxy.lists.packed import Ints, Small

class Table:
    def __init__(
        self, hashes: Ints, masks: Ints, palette: tuple[int, ...], buckets: Ints, bloom: Ints, /
    ) -> None: ...

def lookup(tables: tuple[Table, ...], small: Small | None, host: str, /) -> int: ...
def walk(
    tables: tuple[Table, ...], small: Small | None, url_any: dict[str, int] | None, host: str, /
) -> tuple[int, int, tuple[str, ...] | None]: ...
