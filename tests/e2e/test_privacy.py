"""What the proxy prints and records: never a path, a query, or a password (PRODUCT.md,
"What is recorded"). Checked after SIGTERM, when the log has been flushed."""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import E2E
from .household import Household
from .scenarios import ADDRESSES, LOGIN, SECRET_PATH, assert_reached_origin, write_main_household

pytestmark = pytest.mark.e2e

WRONG_PASSWORD = "wrong-password-5d1e"
SECRETS = ["private-diary-7f3a", "secret-words-91c2", LOGIN[1], WRONG_PASSWORD]


def test_no_path_query_or_password_is_printed_or_recorded(e2e: E2E, tmp_path: Path) -> None:
    hh = Household(tmp_path)
    write_main_household(hh)
    with e2e.vaccine(hh) as proxy:
        kid = proxy.client()
        assert_reached_origin(kid.get(f"http://allowed.test{SECRET_PATH}"))
        assert kid.get(f"http://blocked.test{SECRET_PATH}").status == 403
        inside = proxy.client(source=ADDRESSES["open"]).https("allowed.test:443", path=SECRET_PATH)
        assert inside.issuer == "proxy" and inside.response is not None, inside
        assert_reached_origin(inside.response)
        assert_reached_origin(proxy.client(auth=LOGIN).get(f"http://allowed.test{SECRET_PATH}"))
        refused = proxy.client(auth=(LOGIN[0], WRONG_PASSWORD)).get("http://allowed.test/")
        assert refused.status == 407, refused
        assert WRONG_PASSWORD not in refused.text
        process = proxy.process
    output = process.output()
    recorded = [p for p in tmp_path.rglob("*") if p.is_file() and p.parent != hh.policies]
    for secret in SECRETS:
        assert secret not in output, f"{secret!r} printed by the proxy:\n{output}"
        for path in recorded:
            assert secret.encode() not in path.read_bytes(), f"{secret!r} recorded in {path}"
