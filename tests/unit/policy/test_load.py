"""proxy.policy / proxy.schema / proxy.kinds: a policy folder in, a PolicySet or every problem out.

Each test writes its own household under tmp_path and runs from there, so problems read
`policies/emma.yaml:12: ...` exactly as a parent would see them, and the line numbers
asserted are the real lines of the text in the test.
"""

from __future__ import annotations

import ipaddress
import textwrap
from collections.abc import Callable
from datetime import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaccine.proxy.errors import ProblemsError, VaccineError
from vaccine.proxy.policy import model
from vaccine.proxy.policy.kinds import KINDS, Invalid
from vaccine.proxy.policy.load import check_policies, load_policies, load_settings, split_listen
from vaccine.proxy.policy.schema import PROFILE, SETTINGS

REPO = Path(__file__).resolve().parents[3]

Write = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Write:
    """write(emma="...", settings="...") → the policies folder, as a relative path."""
    monkeypatch.chdir(tmp_path)
    policies = Path("policies")
    policies.mkdir()

    def _write(**files: str | None) -> Path:
        files.setdefault("guest", "name: Guests\n")
        for name, text in files.items():
            if text is not None:
                (policies / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
        return policies

    return _write


def problems_of(directory: Path) -> list[str]:
    return [str(p) for p in check_policies(directory)[1]]


# --- what loads ---------------------------------------------------------------------------


def test_the_shipped_example_household_is_valid() -> None:
    policies, problems = check_policies(REPO / "policies")
    assert [p for p in problems if p.severity == "error"] == []
    assert policies is not None
    assert set(policies.profiles) == {"defaults", "emma", "leo", "guest"}
    emma, leo, guest = (policies.profile(p) for p in ("emma", "leo", "guest"))
    assert {"adult", "self_harm", "social_networks", "chat"} <= emma.block_categories
    assert emma.safe_search and emma.limits["games"] == 60
    assert emma.search_terms == {"adult", "self_harm"}
    assert emma.devices[0].network == ipaddress.ip_network("192.168.1.23/32")
    assert model.Device("user", user="emma-tablet") in emma.devices
    assert leo.parents_see == "categories" and "social_networks" not in leo.block_categories
    (night,) = leo.schedule
    assert (night.start, night.end) == (time(22, 0), time(6, 30))
    assert guest.schedule == () and not guest.ca_installed
    assert policies.settings.database == REPO / "var" / "vaccine.db"
    assert policies.settings.never_decrypt == {"banking", "health"}
    assert policies.settings.help_line == "Childline 0800 1111"


PRODUCT_EXAMPLE = """\
    name: Emma
    extends: defaults
    devices:
      - user: emma-tablet
      - address: 192.168.1.23
      - address: 10.0.5.0/24
    block:
      categories: [adult, gambling]
      domains: [TikTok.com.]
    allow:
      domains: [khanacademy.org, scratch.mit.edu, 192.168.1.5]
    safe_search: strict
    schedule:
      bedtime:
        days: [sun, mon, tue, wed, thu]
        from: "20:30"
        to: "07:00"
        block: everything
        allow: [khanacademy.org]
      homework:
        days: [mon]
        from: 16:00
        to: 18:00
        block: [games, video]
    limits:
      games: 1h
      social_networks: 30m
      video: 1h30m
    search_terms: [adult, self_harm]
    parents_see: domains
    inspect: needed
    ca_installed: true
"""


def test_the_contracts_example_profile_becomes_the_model(write: Write) -> None:
    directory = write(emma=PRODUCT_EXAMPLE, defaults="name: Base\n")
    emma = load_policies(directory).profile("emma")
    assert emma == model.Profile(
        id="emma",
        name="Emma",
        source=(directory / "emma.yaml").absolute(),
        devices=(
            model.Device("user", user="emma-tablet"),
            model.Device("address", network=ipaddress.ip_network("192.168.1.23/32")),
            model.Device("address", network=ipaddress.ip_network("10.0.5.0/24")),
        ),
        block_categories=frozenset({"adult", "gambling"}),
        block_domains=("tiktok.com",),
        allow_domains=("khanacademy.org", "scratch.mit.edu", "192.168.1.5"),
        domain_rules=model.DomainRules.build(
            ("khanacademy.org", "scratch.mit.edu", "192.168.1.5"), ("tiktok.com",)
        ),
        safe_search=True,
        schedule=(
            model.Window("bedtime", frozenset({6, 0, 1, 2, 3}), time(20, 30), time(7, 0),
                         True, frozenset(), ("khanacademy.org",)),
            model.Window("homework", frozenset({0}), time(16), time(18), False,
                         frozenset({"games", "video"})),
        ),
        limits={"games": 60, "social_networks": 30, "video": 90},
        search_terms=frozenset({"adult", "self_harm"}),
        parents_see="domains",
        inspect="needed",
        ca_installed=True,
        extends="defaults",
    )  # fmt: skip


def test_an_empty_profile_gets_every_default(write: Write) -> None:
    guest = load_policies(write(guest="")).profile("guest")
    assert guest == model.Profile("guest", "guest", guest.source)


def test_without_settings_yaml_every_setting_is_its_default(write: Write) -> None:
    directory = write()
    settings = load_policies(directory).settings
    base = directory.absolute().parent
    assert settings == model.Settings(
        database=base / "var" / "vaccine.db", blocklists=base / "blocklists", help_line=""
    )


@pytest.mark.parametrize(
    ("dns", "expected"),
    [
        ("", model.DnsSettings()),
        ("dns:\n  upstream: 127.0.0.1:5353\n", model.DnsSettings(upstream=("127.0.0.1", 5353))),
        ("dns:\n  upstream: 192.168.1.1\n", model.DnsSettings(upstream=("192.168.1.1", 53))),
        ('dns:\n  upstream: "[::1]:5353"\n', model.DnsSettings(upstream=("::1", 5353))),
        ("dns:\n  block_answer: refuse\n  proxy_addresses: [10.0.0.1, 'fd00::1']\n",
         model.DnsSettings(block_answer="refuse", proxy_addresses=("10.0.0.1", "fd00::1"))),
    ],
)  # fmt: skip
def test_dns_settings(write: Write, dns: str, expected: model.DnsSettings) -> None:
    assert load_policies(write(settings=dns or None)).settings.dns == expected


def test_paths_in_settings_are_relative_to_the_folder_holding_policies(write: Write) -> None:
    directory = write(
        settings="""\
        database: data/log.db
        blocklists: /srv/lists
        confdir: ca
        listen: "[::]:3128"
        modes: [regular@3128, "wireguard:wg.json@51820"]
        retention_days: 7
        language: PL
        help_line: 119
        """
    )
    settings, problems = load_settings(directory)
    base = directory.absolute().parent
    assert problems == []
    assert settings.database == base / "data" / "log.db"
    assert settings.blocklists == Path("/srv/lists")
    assert settings.confdir == str(base / "ca")
    assert settings.modes == ("regular@3128", "wireguard:wg.json@51820")
    assert (settings.retention_days, settings.language, settings.help_line) == (7, "pl", "119")
    assert split_listen(settings.listen) == ("::", 3128)


def test_a_help_line_per_page_language(write: Write) -> None:
    directory = write(
        settings="""\
        language: vi
        help_line: "Childline 0800 1111"
        help_lines:
          vi: "111 (Tổng đài quốc gia bảo vệ trẻ em)"
          PL: 116 111
        """
    )
    settings, problems = load_settings(directory)
    assert problems == []
    assert settings.help_line_in("vi") == "111 (Tổng đài quốc gia bảo vệ trẻ em)"
    assert settings.help_line_in("pl") == "116 111"
    assert settings.help_line_in("ar") == "Childline 0800 1111"  # no line of its own
    directory = write(settings="help_lines: {English: x}\n")
    assert problems_of(directory) == [
        'policies/settings.yaml:1: help_lines: "English" is not a language code '
        "(like en, fr or pt-br)"
    ]


def test_files_that_are_not_profiles_are_left_alone(write: Write) -> None:
    directory = write(emma="devices: [{address: 10.0.0.1}]\n")
    (directory / "users.htpasswd").write_text("emma:$2y$10$x\n")
    (directory / ".emma.yaml.swp").write_text("\0junk")
    (directory / "_draft.yaml").write_text("nonsense: [\n")
    (directory / ".hidden.yaml").write_text("nonsense: [\n")
    (directory / "old").mkdir()
    (directory / "leo.yml").write_text("name: Leo\n")
    policies, problems = check_policies(directory)
    assert policies is not None and set(policies.profiles) == {"emma", "guest"}
    assert [str(p) for p in problems] == [
        "policies/leo.yml: warning: ignored: policy files end in .yaml; rename it to leo.yaml"
    ]


# --- what is reported, where --------------------------------------------------------------

PROBLEMS = [
    ("safesearch: strict\n",
     "policies/emma.yaml:1: unknown key 'safesearch'; did you mean 'safe_search'?"),
    ("block:\n  categries: [adult]\n",
     "policies/emma.yaml:2: block: unknown key 'categries'; did you mean 'categories'?"),
    ("colour: blue\n",
     "policies/emma.yaml:1: unknown key 'colour'; expected one of: name, extends, devices, "
     "block, allow, safe_search, schedule, limits, search_terms, parents_see, inspect, "
     "ca_installed, tunnels"),
    ("listen: 0.0.0.0:8080\n",
     "policies/emma.yaml:1: 'listen' belongs in settings.yaml, not a profile"),
    ("block:\n  categories:\n    - adult\n    - gmbling\n",
     "policies/emma.yaml:4: block.categories: \"gmbling\" is not a category; "
     "did you mean 'gambling'?"),
    ("search_terms: [rude]\n",
     "policies/emma.yaml:1: search_terms: \"rude\" is not a category (one of: "
     + ", ".join(model.CATEGORIES) + ")"),
    ("block: [adult]\n",
     "policies/emma.yaml:1: block: expected keys (categories, domains), not a list"),
    ("block:\n  domains:\n    - \"https://www.youtube.com/watch?v=1\"\n",
     "policies/emma.yaml:3: block.domains: \"https://www.youtube.com/watch?v=1\" is a web "
     "address; write only its domain: www.youtube.com"),
    ("allow:\n  domains: [ok.org, 10.0.0.0/8]\n",
     "policies/emma.yaml:2: allow.domains: \"10.0.0.0/8\" is a network; only single addresses "
     "can be listed here"),
    ("block:\n  domains: [\"bad host\"]\n",
     "policies/emma.yaml:2: block.domains: \"bad host\" is not a domain or an IP address"),
    ("safe_search: maybe\n",
     "policies/emma.yaml:1: safe_search: \"maybe\" is not one of: strict, off"),
    ("parents_see: domain\n",
     "policies/emma.yaml:1: parents_see: \"domain\" is not one of: domains, categories; "
     "did you mean 'domains'?"),
    ("inspect: all\n",
     "policies/emma.yaml:1: inspect: \"all\" is not one of: needed, everything"),
    ("ca_installed: perhaps\n",
     "policies/emma.yaml:1: ca_installed: \"perhaps\" is not true or false"),
    ("name: [Emma]\n", "policies/emma.yaml:1: name: expected text, not a list"),
    ("- adult\n- games\n",
     "policies/emma.yaml: expected 'key: value' lines at the top, not a list"),
    ("schedule:\n  bedtime:\n    from: \"25:00\"\n    to: \"07:00\"\n",
     "policies/emma.yaml:3: schedule.bedtime.from: \"25:00\" is not a time (HH:MM)"),
    ("schedule:\n  bedtime:\n    from: 7\n    to: \"07:00\"\n",
     "policies/emma.yaml:3: schedule.bedtime.from: 7 is not a time (HH:MM)"),
    ("schedule:\n  nap:\n    from: \"13:00\"\n    to: \"13:00\"\n",
     "policies/emma.yaml:4: schedule.nap.to: from and to are both \"13:00\"; a window needs "
     "two different times"),
    ("schedule:\n  nap:\n    days: [mon]\n    from: \"13:00\"\n",
     "policies/emma.yaml:2: schedule.nap: missing 'to'"),
    ("schedule:\n  nap:\n    days: [mon, funday]\n    from: \"13:00\"\n    to: \"14:00\"\n",
     "policies/emma.yaml:3: schedule.nap.days: \"funday\" is not a day "
     "(mon, tue, wed, thu, fri, sat, sun)"),
    ("schedule:\n  nap:\n    form: \"13:00\"\n    to: \"14:00\"\n",
     "policies/emma.yaml:3: schedule.nap: unknown key 'form'; did you mean 'from'?"),
    ("schedule:\n  nap:\n    from: \"13:00\"\n    to: \"14:00\"\n    block: [gams]\n",
     "policies/emma.yaml:5: schedule.nap.block: \"gams\" is not a category; "
     "did you mean 'games'?"),
    ("schedule:\n  nap: off\n",
     "policies/emma.yaml:2: schedule.nap: expected keys (days, from, to, block, allow), "
     "not \"off\""),
    ("limits:\n  games: 60\n",
     "policies/emma.yaml:2: limits.games: 60 needs a unit: write 60m or 60h"),
    ("limits:\n  games: 2 hours\n",
     "policies/emma.yaml:2: limits.games: \"2 hours\" is not a duration (like 1h, 30m or 1h30m)"),
    ("limits:\n  games: 25h\n",
     "policies/emma.yaml:2: limits.games: \"25h\" is more than a day"),
    ("limits:\n  gams: 1h\n",
     "policies/emma.yaml:2: limits: \"gams\" is not a category; did you mean 'games'?"),
    ("devices:\n  - 192.168.1.23\n",
     "policies/emma.yaml:2: devices: \"192.168.1.23\" needs a kind (user, address, port, "
     "mode): write \"- address: 192.168.1.23\""),
    ("devices:\n  - address: 192.168.1.300\n",
     "policies/emma.yaml:2: devices.address: \"192.168.1.300\" is not an IP address or network "
     "(like 192.168.1.23 or 10.0.5.0/24)"),
    ("devices:\n  - user: emma\n    address: 10.0.0.1\n",
     "policies/emma.yaml:2: devices: one device per entry: start each with its own '- '"),
    ("devices:\n  - port: 70000\n", "policies/emma.yaml:2: devices.port: 70000 is out of "
     "range (1–65535)"),
    ("devices:\n  - mode: teleport@9\n",
     "policies/emma.yaml:2: devices.mode: \"teleport@9\" is not a mitmproxy mode (unknown mode)"),
    ("devices:\n  - user: \"emma tablet\"\n",
     "policies/emma.yaml:2: devices.user: \"emma tablet\" is not a login name "
     "(no spaces or ':')"),
    ("devices:\n  -\n", "policies/emma.yaml:2: devices: empty item in the list"),
    ("extends: defualts\n",
     "policies/emma.yaml:1: extends: there is no profile 'defualts' (policies/defualts.yaml); "
     "did you mean 'defaults'?"),
    ("extends: defaults.yaml\n",
     "policies/emma.yaml:1: extends: write 'defaults', without .yaml"),
    ("name: Emma\nname: Emily\n",
     "policies/emma.yaml:2: duplicate key 'name' (first on line 1)"),
    ("name: Emma\n  safe_search: strict\n",
     "policies/emma.yaml:2: YAML syntax error: mapping values are not allowed here"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), PROBLEMS)
def test_each_mistake_is_one_problem_on_its_line(write: Write, text: str, expected: str) -> None:
    directory = write(emma=text, defaults="name: Base\n")
    assert [p for p in problems_of(directory) if "warning:" not in p] == [expected]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("lisen: 0.0.0.0:8080\n",
         "policies/settings.yaml:1: unknown key 'lisen'; did you mean 'listen'?"),
        ("block:\n  categories: [adult]\n",
         "policies/settings.yaml:1: 'block' belongs in a profile file, not settings.yaml"),
        ("listen: 8080\n",
         'policies/settings.yaml:1: listen: 8080 is not HOST:PORT (like "0.0.0.0:8080")'),
        ("listen: \"0.0.0.0:99999\"\n",
         'policies/settings.yaml:1: listen: "0.0.0.0:99999" is not HOST:PORT '
         '(like "0.0.0.0:8080")'),
        ("modes:\n  - regular@8080\n  - bogus@1\n",
         'policies/settings.yaml:3: modes: "bogus@1" is not a mitmproxy mode (unknown mode)'),
        ("modes: [\"upstream:\"]\n",
         'policies/settings.yaml:1: modes: "upstream:" is not a mitmproxy mode '
         "(Invalid server specification: )"),
        ("retention_days: 0\n",
         "policies/settings.yaml:1: retention_days: 0 is out of range (1–3650)"),
        ("retention_days: a month\n",
         'policies/settings.yaml:1: retention_days: "a month" is not a whole number'),
        ("language: English\n",
         'policies/settings.yaml:1: language: "English" is not a language code '
         "(like en, fr or pt-br)"),
        ("never_decrypt: [banking, doh]\n",
         "policies/settings.yaml:1: never_decrypt: doh is a way around the filter, so it is "
         "always inspected; remove it"),
        ("never_decrypt: [banks]\n",
         "policies/settings.yaml:1: never_decrypt: \"banks\" is not a category; "
         "did you mean 'banking'?"),
        ("proxy_auth: policies/users.htpasswd\n",
         "policies/settings.yaml:1: proxy_auth: no such file: {base}/policies/users.htpasswd"),
        ("unknown_devices: guests\n",
         "policies/settings.yaml:1: unknown_devices: there is no profile 'guests' for devices "
         "no profile claims; create policies/guests.yaml or name another profile; "
         "did you mean 'guest'?"),
        ("dns:\n  upstream: dns.google\n",
         'policies/settings.yaml:2: dns.upstream: "dns.google" is not an IP address with an '
         'optional port ("127.0.0.1:5353")'),
        ("dns:\n  block_answer: blockpage\n",
         'policies/settings.yaml:2: dns.block_answer: "blockpage" is not one of: proxy, refuse, '
         "nxdomain"),
        ("dns:\n  proxy_addresses: [192.168.1.300]\n",
         'policies/settings.yaml:2: dns.proxy_addresses: "192.168.1.300" is not an IP address '
         "(like 192.168.1.10)"),
        ("dns:\n  upstrem: 127.0.0.1\n",
         "policies/settings.yaml:2: dns: unknown key 'upstrem'; did you mean 'upstream'?"),
    ],
)  # fmt: skip
def test_settings_mistakes(write: Write, settings: str, expected: str) -> None:
    directory = write(settings=settings, emma="devices: [{address: 10.0.0.1}]\n")
    base = directory.absolute().parent
    errors = [p for p in problems_of(directory) if "warning:" not in p]
    assert errors == [expected.format(base=base)]


def test_the_default_profile_for_unknown_devices_must_exist(write: Write) -> None:
    directory = write(guest=None, emma="devices: [{address: 10.0.0.1}]\n")
    assert problems_of(directory) == [
        "policies/settings.yaml: unknown_devices: there is no profile 'guest' (the default) for "
        "devices no profile claims; create policies/guest.yaml or name another profile"
    ]


def test_every_problem_of_every_file_comes_at_once_in_file_and_line_order(write: Write) -> None:
    directory = write(
        settings="retention_days: -1\nlisen: x\n",
        emma="""\
        name: Emma
        safe_search: maybe
        block:
          categories: [adult, gmbling]
        schedule:
          bedtime: {from: "25:00", to: "07:00"}
        limits: {games: 60}
        """,
        leo="inspect: all\nextends: nobody\n",
    )
    expected = [
        'policies/emma.yaml:2: safe_search: "maybe" is not one of: strict, off',
        'policies/emma.yaml:4: block.categories: "gmbling" is not a category; '
        "did you mean 'gambling'?",
        'policies/emma.yaml:6: schedule.bedtime.from: "25:00" is not a time (HH:MM)',
        "policies/emma.yaml:7: limits.games: 60 needs a unit: write 60m or 60h",
        'policies/leo.yaml:1: inspect: "all" is not one of: needed, everything',
        "policies/leo.yaml:2: extends: there is no profile 'nobody' (policies/nobody.yaml)",
        "policies/settings.yaml:1: retention_days: -1 is out of range (1–3650)",
        "policies/settings.yaml:2: unknown key 'lisen'; did you mean 'listen'?",
    ]
    assert [p for p in problems_of(directory) if "warning:" not in p] == expected
    with pytest.raises(ProblemsError) as caught:
        load_policies(directory)
    assert [str(p) for p in caught.value.problems if p.severity == "error"] == expected


def test_a_missing_policy_folder_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VaccineError, match="no such policy directory"):
        check_policies(tmp_path / "nowhere")


def test_a_file_name_that_cannot_be_an_id(write: Write) -> None:
    directory = write()
    (directory / "emma tablet.yaml").write_text("devices: [{port: 8080}]\n")
    assert problems_of(directory) == [
        "policies/emma tablet.yaml: 'emma tablet' cannot be a profile id: name the file with "
        "letters, digits, - or _"
    ]


def test_a_byte_order_mark_and_windows_line_ends_are_fine(write: Write) -> None:
    directory = write()
    (directory / "emma.yaml").write_bytes(
        b"\xef\xbb\xbfname: Emma\r\ndevices:\r\n  - address: 10.0.0.1\r\nsafe_search: off\r\n"
    )
    emma = load_policies(directory).profile("emma")
    assert (emma.name, emma.safe_search) == ("Emma", False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("devices: [{port: 8080}]\n"
         "schedule:\n  nap:\n    days: []\n    from: '13:00'\n    to: '14:00'\n",
         "policies/emma.yaml:4: warning: schedule.nap.days: no days: this window never starts"),
        ("name: Emma\n",
         "policies/emma.yaml: warning: no devices: no traffic uses this profile; add devices: "
         "to it"),
        ("devices:\n  - address: 10.0.0.1\n  - address: 10.0.0.1/32\n",
         "policies/emma.yaml:3: warning: devices: address 10.0.0.1/32 is listed twice"),
        ("devices:\n  - user: emma\n",
         "policies/emma.yaml:2: warning: devices: user emma: logins need proxy_auth in "
         "settings.yaml; until then it never matches"),
        ("devices:\n  - mode: transparent@8081\n",
         "policies/emma.yaml:2: warning: devices: mode transparent@8081 is not in settings.yaml "
         "modes; it matches only when run with --mode"),
        ("devices:\n  - port: 8081\n",
         "policies/emma.yaml:2: warning: devices: port 8081 is not a port the proxy listens on "
         "(listen, modes)"),
    ],
)  # fmt: skip
def test_warnings_do_not_stop_loading(write: Write, text: str, expected: str) -> None:
    policies, problems = check_policies(write(emma=text))
    assert policies is not None
    assert [str(p) for p in problems] == [expected]


def test_devices_that_match_a_listener_or_a_login_are_quiet(write: Write) -> None:
    directory = write(
        settings="proxy_auth: policies/users.htpasswd\nmodes: [regular@8080, regular@8081]\n",
        emma="devices: [{user: emma}, {port: 8081}, {mode: regular@8081}]\n",
        leo="devices: [{user: leo}]\n",
    )
    (directory / "users.htpasswd").write_text("# logins\nemma:$2y$10$abc\n")
    assert problems_of(directory) == [
        f"policies/leo.yaml:1: warning: devices: user leo has no password in "
        f"{directory.absolute() / 'users.htpasswd'}"
    ]


def test_one_device_in_two_profiles_names_both_files(write: Write) -> None:
    directory = write(
        emma="name: Emma\ndevices:\n  - address: 192.168.1.0/24\n  - user: tablet\n",
        leo="devices:\n  - port: 8080\n  - address: 192.168.1.77/24\n",
        max="devices:\n  - address: 192.168.1.77\n  - user: tablet\n",
    )
    assert [p for p in problems_of(directory) if "warning:" not in p] == [
        "policies/leo.yaml:3: devices: address 192.168.1.0/24 is also a device of 'emma' "
        "(policies/emma.yaml:3)",
        "policies/max.yaml:3: devices: user tablet is also a device of 'emma' "
        "(policies/emma.yaml:4)",
    ]


# --- extends ------------------------------------------------------------------------------

BASE = """\
    name: Base
    devices: [{address: 10.9.9.9}]
    block:
      categories: [adult, gambling]
      domains: [a.com]
    allow:
      domains: [school.org]
    safe_search: strict
    schedule:
      bedtime: {days: [mon], from: "20:00", to: "07:00", block: [games]}
      lunch: {from: "12:00", to: "13:00"}
    limits: {games: 1h, video: 2h}
    search_terms: [adult]
"""


def test_a_child_inherits_then_overrides(write: Write) -> None:
    directory = write(
        defaults=BASE,
        emma="""\
        extends: defaults
        devices: [{address: 10.0.0.1}]
        block:
          domains: [b.com]
        schedule:
          bedtime: {to: "06:00"}
          lunch:
        limits: {games: 30m, video: null}
        search_terms: []
        """,
    )
    emma = load_policies(directory).profile("emma")
    assert emma.name == "emma"  # names are not inherited
    assert [d.network for d in emma.devices] == [ipaddress.ip_network("10.0.0.1/32")]
    assert emma.block_categories == {"adult", "gambling"}  # maps merge key by key
    assert emma.block_domains == ("b.com",)  # a list replaces the inherited list
    assert emma.allow_domains == ("school.org",)
    assert emma.safe_search
    (bedtime,) = emma.schedule  # an empty value removes the inherited window
    assert (bedtime.days, bedtime.start, bedtime.end) == ({0}, time(20), time(6))
    assert bedtime.categories == {"games"}
    assert emma.limits == {"games": 30}
    assert emma.search_terms == frozenset()


def test_extends_chains_through_several_profiles(write: Write) -> None:
    directory = write(
        defaults=BASE,
        teen="extends: defaults\nlimits: {games: 3h}\nparents_see: categories\n",
        leo="extends: teen\ndevices: [{port: 8080}]\nlimits: {video: 20m}\n",
    )
    leo = load_policies(directory).profile("leo")
    assert leo.limits == {"games": 180, "video": 20}
    assert leo.parents_see == "categories"
    assert leo.block_categories == {"adult", "gambling"}


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"a": "extends: a\n"}, ["policies/a.yaml:1: extends: a → a goes round in a circle"]),
        ({"a": "extends: b\n", "b": "extends: c\n", "c": "extends: a\n", "d": "extends: a\n"},
         ["policies/a.yaml:1: extends: a → b → c → a goes round in a circle",
          "policies/b.yaml:1: extends: b → c → a → b goes round in a circle",
          "policies/c.yaml:1: extends: c → a → b → c goes round in a circle"]),
        ({"a": "extends: b\n", "b": "extends: gone\n"},
         ["policies/b.yaml:1: extends: there is no profile 'gone' (policies/gone.yaml)"]),
    ],
)  # fmt: skip
def test_broken_chains_are_reported_once_by_the_file_that_breaks_them(
    write: Write, files: dict[str, str], expected: list[str]
) -> None:
    assert [p for p in problems_of(write(**files)) if "warning:" not in p] == expected


def test_a_mistake_in_an_inherited_part_is_reported_once_in_its_own_file(write: Write) -> None:
    directory = write(
        defaults="schedule:\n  bedtime:\n    from: '20:00'\n",
        emma="extends: defaults\ndevices: [{port: 8080}]\n",
        leo="extends: defaults\ndevices: [{port: 8081}]\nschedule: {bedtime: {to: '06:00'}}\n",
    )
    assert [p for p in problems_of(directory) if "warning:" not in p] == [
        "policies/defaults.yaml:2: schedule.bedtime: missing 'to'"
    ]


def test_leaving_inherited_categories_out_is_a_warning(write: Write) -> None:
    directory = write(
        defaults=BASE,
        emma="extends: defaults\ndevices: [{port: 8080}]\nblock:\n  categories: [adult, chat]\n",
    )
    policies, problems = check_policies(directory)
    assert policies is not None and policies.profile("emma").block_categories == {"adult", "chat"}
    assert [str(p) for p in problems] == [
        "policies/emma.yaml:4: warning: block.categories: leaves out gambling, blocked by "
        "'defaults'; this list replaces the inherited one, so they are not blocked here"
    ]


# --- single values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [
        ("day", "Monday", 0), ("day", "sun", 6), ("day", "THURS", 3),
        ("category", "Self-Harm", "self_harm"), ("category", "social networks", "social_networks"),
        ("host", "*.Example.COM.", "example.com"), ("host", ".example.com", "example.com"),
        ("host", "bücher.de", "xn--bcher-kva.de"), ("host", "[::1]", "::1"),
        ("host", "example.com:443", "example.com"),
        ("bool", "yes", True), ("bool", "Off", False), ("bool", False, False),
        ("time", "24:00", time(0)), ("time", "7:05", time(7, 5)), ("time", "00:00", time(0)),
        ("duration", "1h 30m", 90), ("duration", "90m", 90), ("duration", "45min", 45),
        ("duration", "0m", 0), ("duration", "24h", 1440),
        ("address", "10.0.5.9/24", ipaddress.ip_network("10.0.5.0/24")),
        ("address", "fd00::1", ipaddress.ip_network("fd00::1/128")),
        ("listen", "127.0.0.1:8080", "127.0.0.1:8080"), ("listen", ":8080", ":8080"),
        ("mode", "wireguard:wg.json@51820", "wireguard:wg.json@51820"),
        ("language", "pt-BR", "pt-br"),
    ],
)  # fmt: skip
def test_lenient_where_the_meaning_is_plain(kind: str, raw: Any, value: Any) -> None:
    assert KINDS[kind].convert(PROFILE, raw) == value


@pytest.mark.parametrize(
    ("raw", "value"), [(False, "off"), (True, "strict"), ("on", "strict"), ("STRICT", "strict")]
)
def test_safe_search_accepts_what_yaml_1_1_made_of_on_and_off(raw: Any, value: str) -> None:
    key = PROFILE.sub("safe_search")
    assert key is not None and KINDS["choice"].convert(key, raw) == value


@given(st.integers(0, 23), st.integers(0, 59))
def test_every_clock_time_reads_as_itself(h: int, m: int) -> None:
    for text in (f"{h:02}:{m:02}", f"{h}:{m:02}"):
        assert KINDS["time"].convert(PROFILE, text) == time(h, m)


@given(st.integers(0, 24), st.integers(0, 59))
def test_durations_are_hours_and_minutes(h: int, m: int) -> None:
    total = h * 60 + m
    for text in (f"{h}h{m}m", f"{h}h {m}m", f"{total}m"):
        if total <= 24 * 60:
            assert KINDS["duration"].convert(PROFILE, text) == total
        else:
            with pytest.raises(Invalid, match="more than a day"):
                KINDS["duration"].convert(PROFILE, text)


def test_every_default_in_the_schema_is_valid() -> None:
    from vaccine.proxy.policy.schema import default_of, iter_keys

    for root in (SETTINGS, PROFILE):
        for _, key in iter_keys(root):
            default_of(key)  # raises on a default its own kind would reject
