import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaccine.proxy.hosts import (
    BadHost,
    _parse,
    _plain,
    host_suffixes,
    is_ip,
    normalise_host,
    public_suffix,
    registrable_domain,
    suffixes,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("example.com", "example.com"),
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("EXAMPLE.com.:443", "example.com"),
        ("user:secret@example.com:8080", "example.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("XN--BCHER-KVA.DE", "xn--bcher-kva.de"),
        ("faß.de", "xn--fa-hia.de"),  # UTS 46 non-transitional, as browsers resolve it
        ("[::1]:8080", "::1"),
        ("[::ffff:127.0.0.1]", "127.0.0.1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2130706433", "127.0.0.1"),  # decimal IPv4 is an address, not a name
        ("0x7f.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("1.example", "1.example"),
        (" example.com ", "example.com"),
    ],
)
def test_normalise_host(raw: str, expected: str) -> None:
    assert normalise_host(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", ".", "a..b", ".example.com", "exa mple.com", "exa/mple.com", "[::1", "x:abc"]
)
def test_normalise_host_rejects(raw: str) -> None:
    with pytest.raises(BadHost):
        normalise_host(raw)


def test_suffixes_walk_to_the_top_and_ips_match_only_themselves() -> None:
    assert list(suffixes("a.b.example.com")) == [
        "a.b.example.com",
        "b.example.com",
        "example.com",
        "com",
    ]
    assert list(suffixes("10.0.0.1")) == ["10.0.0.1"]
    for host in ("a.b.example.com", "com", "10.0.0.1", "2001:db8::1", "1.example"):
        assert host_suffixes(host) == tuple(suffixes(host))
    assert is_ip("::1") and is_ip("10.0.0.1") and not is_ip("example.com")


@pytest.mark.parametrize(
    ("host", "domain", "suffix"),
    [
        ("www.youtube.com", "youtube.com", "com"),
        ("a.b.example.co.uk", "example.co.uk", "co.uk"),
        ("www.google.com.vn", "google.com.vn", "com.vn"),
        ("10.1.2.3", "10.1.2.3", ""),
        ("www.sub.allowed.test", "allowed.test", ""),  # unlisted suffix: the default rule `*`
        ("nas.home.internal", "home.internal", ""),
        ("localhost", "localhost", ""),
    ],
)
def test_registrable_domain_uses_the_public_suffix_list(
    host: str, domain: str, suffix: str
) -> None:
    assert registrable_domain(host) == domain
    assert public_suffix(host) == suffix


label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
hostname = (
    st.lists(label, min_size=2, max_size=5)
    .map(".".join)
    # a last label WHATWG reads as a number (`1`, `0x`, `0x1f`) makes an address, or nothing
    .filter(lambda h: not _numeric(h.rsplit(".", 1)[-1]))
)


def _numeric(label: str) -> bool:
    return label.isdigit() or (label[:2] == "0x" and set(label[2:]) <= set("0123456789abcdef"))


@given(hostname, st.sampled_from(["", "."]), st.booleans(), st.integers(1, 65535))
def test_spellings_of_a_host_normalise_alike(host: str, dot: str, upper: bool, port: int) -> None:
    spelled = (host.upper() if upper else host) + dot
    assert normalise_host(spelled) == normalise_host(host)
    assert normalise_host(f"{spelled}:{port}") == normalise_host(host)
    assert normalise_host(f"u:p@{spelled}") == normalise_host(host)


# Near-plain names: the shortcut's edges (case, dots, 63/64-octet labels, `xn--`, numbers).
near_plain = st.lists(
    st.one_of(
        st.text(alphabet="aZ09-_x.", min_size=0, max_size=6),
        st.sampled_from(["xn--", "XN--bcher-kva", "0x", "0x1f", "255", "a" * 63, "b" * 64]),
    ),
    min_size=1,
    max_size=6,
).map("".join)


@given(near_plain)
def test_the_plain_name_shortcut_agrees_with_the_full_parser(raw: str) -> None:
    try:
        expected: str | type[BadHost] = _parse(raw)
    except BadHost:
        expected = BadHost
    plain = _plain(raw)
    assert plain is None or plain == expected
    try:
        got: str | type[BadHost] = normalise_host(raw)
    except BadHost:
        got = BadHost
    assert got == expected


@given(hostname)
def test_normalising_is_idempotent(host: str) -> None:
    once = normalise_host(host)
    assert normalise_host(once) == once
