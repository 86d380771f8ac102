"""The households the vaccine tests run against, and the checks they share.

The main household gives every profile a marker domain (`marker-<id>.test`) that only that
profile blocks, so which profile a connection was attributed to is visible from outside:
exactly its own marker is blocked.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

import yaml

from .client import Client, Response
from .household import Household

ALL_CATEGORIES = [
    "adult", "gambling", "dating", "violence", "drugs", "weapons", "hate", "self_harm",
    "phishing", "malware", "proxy_bypass", "doh", "social_networks", "games", "video", "chat",
    "shopping", "education", "banking", "health", "search",
]  # fmt: skip

HELP_LINE = "Childline 0800 1111"
# A path and query that must never appear on a block page (the site, never the URL).
SECRET_PATH = "/private-diary-7f3a/page.html?q=secret-words-91c2"

LOGIN = ("emma-tablet", "correct horse battery")

# source address → profile, in the main household.
ADDRESSES = {
    "kid": "127.0.0.1",
    "teen": "127.0.0.2",  # ca_installed: false
    "open": "127.0.0.4",  # inspect: everything
    "walled": "127.0.0.5",  # ca_installed: false, blocks everything it can
}
PROFILES = ["kid", "teen", "open", "walled", "lab", "class", "emma", "guest"]


def marker(profile_id: str) -> str:
    return f"marker-{profile_id}.test"


def _profile(
    profile_id: str,
    *,
    devices: Sequence[dict[str, object]] = (),
    block: Sequence[str] = (),
    categories: Sequence[str] = (),
    allow: Sequence[str] = (),
    **extra: object,
) -> dict[str, object]:
    data: dict[str, object] = {"name": profile_id.title(), "devices": list(devices)}
    data["block"] = {"categories": list(categories), "domains": [*block, marker(profile_id)]}
    data["allow"] = {"domains": list(allow)}
    data.update(extra)
    return data


def write_main_household(hh: Household) -> None:
    hh.write_settings(proxy_auth=str(hh.htpasswd))
    hh.write_logins({LOGIN[0]: LOGIN[1]})
    hh.write_list("adult", ["adult.test", "sündig.test"])
    hh.write_list("gambling", ["casino.test"])
    hh.write_list("social_networks", ["social.test"])
    hh.write_list("banking", ["bank.test"])
    hh.write_profile(
        "kid",
        _profile(
            "kid",
            devices=[{"address": ADDRESSES["kid"]}],
            categories=["adult", "gambling"],
            block=["blocked.test", "both.test", "tube.test", "bad.forum.test", "bücher.test"],
            allow=["fun.casino.test", "both.test", "edu.tube.test", "forum.test", "127.0.0.1"],
            inspect="needed",
            ca_installed=True,
        ),
    )
    hh.write_profile(
        "teen",
        _profile(
            "teen",
            devices=[{"address": ADDRESSES["teen"]}],
            categories=["adult", "gambling"],
            block=["blocked.test"],
            allow=["fun.casino.test"],
            ca_installed=False,
        ),
    )
    hh.write_profile(
        "open",
        _profile(
            "open",
            devices=[{"address": ADDRESSES["open"]}],
            categories=["adult"],
            block=["blocked.test"],
            inspect="everything",
        ),
    )
    hh.write_profile(
        "walled",
        _profile(
            "walled",
            devices=[{"address": ADDRESSES["walled"]}],
            categories=ALL_CATEGORIES,
            # Even a profile that names the onboarding host cannot lock a device out of it.
            block=["mitm.it", "allowed.test", "blocked.test"],
            ca_installed=False,
        ),
    )
    hh.write_profile("lab", _profile("lab", devices=[{"address": "127.0.1.0/24"}]))
    hh.write_profile("class", _profile("class", devices=[{"address": "127.0.1.0/28"}]))
    hh.write_profile("emma", _profile("emma", devices=[{"user": LOGIN[0]}]))
    hh.write_profile("guest", _profile("guest"))


def assert_block_page(r: Response, site: str) -> None:
    """A 403 HTML block page made by the proxy, naming the site and never the path."""
    assert r.status == 403, r
    assert not r.from_origin, f"the origin answered: {r}"
    assert r.headers.get("content-type", "").startswith("text/html"), r.headers
    page = r.text
    assert site in page, f"the block page does not name {site!r}: {page[:500]!r}"
    for secret in ("private-diary-7f3a", "secret-words-91c2"):
        assert secret not in page, f"the block page shows the URL ({secret!r})"


def assert_reached_origin(r: Response, host: str | None = None) -> dict[str, Any]:
    assert r.status == 200 and r.from_origin, r
    echo = r.json()
    if host is not None:
        assert echo["host"] == host, echo
    return echo


def blocked_markers(client: Client) -> set[str]:
    """Which profiles' markers this client is blocked from: names its profile."""
    out = set()
    for p in PROFILES:
        r = client.get(f"http://{marker(p)}/")
        assert r.status in (200, 403), r
        if r.status == 403:
            out.add(p)
    return out


@functools.cache
def _reasons(language: str) -> dict[str, str]:
    path = resources.files("vaccine.proxy.pages") / "locales" / f"{language}.yaml"
    return dict(yaml.safe_load(path.read_text(encoding="utf-8"))["reasons"])


def page_reason(key: str, language: str = "en") -> str:
    """The block page's sentence for a rule (`reasons:` in proxy/pages/locales/<language>.yaml),
    with its {fields} still in."""
    return _reasons(language)[key]


def page_words(page: str) -> str:
    """The words of a page as a reader sees them: tags dropped, entities read, spaces single."""
    body = page.split("<body>", 1)[-1]
    body = re.sub(r"</?(bdi|strong|span)\b[^>]*>", "", body)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def says(page: str, key: str, language: str = "en") -> bool:
    """Does a block page give the reason `key`? Its {fields} may hold anything."""
    parts = re.split(r"\{[a-z_]+\}", page_reason(key, language))
    pattern = ".+?".join(re.escape(part) for part in parts)
    return re.search(pattern, page_words(page)) is not None
