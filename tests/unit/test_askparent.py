"""proxy.askparent and the block page's form: a child asks, only a parent on the server answers."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest

from vaccine.proxy.askparent import (
    ASK_PATH,
    AskDesk,
    BadDuration,
    Duration,
    ScheduleChoiceNeeded,
    approve_request,
    clean_message,
    deny_request,
    parse_duration,
    read_form,
)
from vaccine.proxy.decision import Decision
from vaccine.proxy.errors import VaccineError
from vaccine.proxy.pages import blockpage
from vaccine.proxy.policy.load import load_policies
from vaccine.proxy.policy.model import Profile
from vaccine.proxy.store.requests import (
    MAX_MESSAGE,
    AlreadyAnswered,
    RequestNotFound,
    add_request,
    approvals_in_force,
    get_request,
    list_requests,
)
from vaccine.proxy.store.schema import connect

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 8, 19, 0, 0)
EMMA = Profile(id="emma", name="Emma", source=Path("emma.yaml"))
FORM = "application/x-www-form-urlencoded"


def blocked(
    host: str = "www.roblox.com", rule: str = "block.categories", cats: tuple[str, ...] = ("games",)
) -> Decision:
    return Decision("block", rule, f"{rule}: x", host, frozenset(cats), inspect=True)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "log.db"
    connect(path).close()
    return path


async def ask(
    desk: AskDesk,
    body: bytes | str = b"message=for+school",
    *,
    decision: Decision | None = None,
    method: str = "POST",
    content_type: str = FORM,
    profile: Profile = EMMA,
    now: datetime = NOW,
    language: str = "en",
) -> tuple[int, str]:
    return await desk.handle(
        method=method,
        body=body.encode() if isinstance(body, str) else body,
        content_type=content_type,
        profile=profile,
        decision=decision or blocked(),
        now=now,
        language=language,
        help_line="Childline 0800 1111",
    )


# --- the form ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "host", "shown"),
    [
        ("block.categories", "www.roblox.com", True),
        ("block.domains", "tiktok.com", True),
        ("schedule", "youtube.com", True),
        ("limits", "youtube.com", True),
        ("search_terms", "google.com", False),  # the request could only name the engine
        ("ip_literal", "10.1.2.3", False),
        ("error", "", False),
        ("bad_host", "", False),
        ("no_host", "", False),
    ],
)
def test_the_block_page_offers_the_form_when_a_parent_can_approve(
    rule: str, host: str, shown: bool
) -> None:
    page = blockpage.render(blocked(host, rule), help_line="Childline 0800 1111")
    assert (f'action="{ASK_PATH}"' in page) is shown
    assert ('name="message"' in page) is shown
    assert 'Childline <bdi dir="ltr">0800 1111</bdi>' in page and "<script" not in page


def test_the_form_can_be_left_out_and_speaks_the_page_language() -> None:
    assert blockpage.MAX_MESSAGE == MAX_MESSAGE  # the form's maxlength is what the log keeps
    assert "<form" not in blockpage.render(blocked(), ask=False)
    page = blockpage.render(blocked(), language="pl")
    assert "Poproś rodzica" in page and 'maxlength="200"' in page and 'method="post"' in page


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  for   school ", "for school"),
        ("line one\nline two\ttab", "line one line two tab"),
        ("\x1b[31mred\x07", "[31mred"),
        ("abc\u202edcba", "abcdcba"),  # no right-to-left override tricks in the parent's view
        ("👨\u200d👩\u200d👧 family", "👨\u200d👩\u200d👧 family"),  # an emoji's joiners stay
        ("x" * 250, "x" * 200),
        ("", ""),
    ],
)
def test_clean_message(raw: str, clean: str) -> None:
    assert clean_message(raw) == clean


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"message=for+school", FORM, "for school"),
        (
            b"message=dla%20szko%C5%82y",
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
            "dla szkoły",
        ),
        (b"", FORM, ""),
        (b"other=1", FORM, ""),
        (b"message=a&message=b", FORM, "a"),
        (b"message=x", "text/plain", None),
        (b"message=x", "multipart/form-data; boundary=x", None),
        (b"message=%ff", FORM, None),  # not UTF-8
        ("message=zażółć".encode(), FORM, None),  # browsers percent-encode; raw bytes are junk
        (b"message=" + b"a" * 5000, FORM, None),
        (b"&".join(b"f%d=1" % i for i in range(50)), FORM, None),
    ],
)
def test_read_form(body: bytes, content_type: str, message: str | None) -> None:
    assert read_form(body, content_type) == message


# --- the desk ---------------------------------------------------------------------------------


async def test_a_request_is_recorded_and_thanked_for(db: Path) -> None:
    status, page = await ask(AskDesk(db))
    assert status == 200
    assert "Your parent will see your request" in page and "roblox.com" in page
    (row,) = list_requests(db)
    assert (row.profile, row.domain, row.category, row.message, row.created) == (
        "emma", "roblox.com", "games", "for school", "2026-03-08T19:00:00")  # fmt: skip


async def test_the_category_is_the_first_in_the_products_order(db: Path) -> None:
    await ask(AskDesk(db), decision=blocked("youtube.com", cats=("video", "social_networks", "x")))
    await ask(AskDesk(db), decision=blocked("example.org", cats=()))
    assert [(r.domain, r.category) for r in list_requests(db)] == [
        ("youtube.com", "social_networks"),
        ("example.org", ""),
    ]


async def test_asking_twice_says_so_and_records_once(db: Path) -> None:
    desk = AskDesk(db)
    await ask(desk)
    status, page = await ask(desk, decision=blocked("play.roblox.com"), now=NOW + timedelta(1))
    assert status == 200 and "You already asked" in page
    assert len(list_requests(db)) == 1


async def test_too_many_requests_for_now(db: Path) -> None:
    desk = AskDesk(db, per_hour=2, max_pending=10)
    statuses = [(await ask(desk, decision=blocked(f"site{i}.com")))[0] for i in range(3)]
    assert statuses == [200, 200, 429]
    status, page = await ask(desk, decision=blocked("site9.com"))
    assert status == 429 and "Too many requests" in page
    assert len(list_requests(db)) == 2


@pytest.mark.parametrize(
    ("kwargs", "status", "text", "recorded"),
    [
        ({"method": "GET"}, 405, "Something was wrong with the form", False),
        ({"content_type": "text/plain"}, 400, "Something was wrong with the form", False),
        ({"body": b"message=%ff"}, 400, "Something was wrong with the form", False),
        (
            {"decision": Decision("allow", "approval", "ok", "roblox.com")},
            200,
            "site is open",
            False,
        ),
        ({"decision": blocked("10.1.2.3", "ip_literal", ())}, 403, "cannot be asked for", False),
        ({"decision": Decision("block", "error", "internal")}, 403, "cannot be asked for", False),
        ({"language": "pl"}, 200, "Prośba została wysłana", True),
    ],
)
async def test_each_answer_page(
    db: Path, kwargs: dict[str, object], status: int, text: str, recorded: bool
) -> None:
    got_status, page = await ask(AskDesk(db), **kwargs)  # type: ignore[arg-type]
    assert (got_status, text in page) == (status, True)
    assert "<!doctype html>" in page and 'Childline <bdi dir="ltr">0800 1111</bdi>' in page
    assert len(list_requests(db)) == int(recorded)


async def test_a_database_problem_is_a_kind_page_never_a_traceback(tmp_path: Path) -> None:
    status, page = await ask(AskDesk(tmp_path / "missing.db"))
    assert status == 503 and "Please ask a grown-up directly" in page
    assert "Traceback" not in page and "missing.db" not in page
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"junk" * 1000)
    assert (await ask(AskDesk(junk)))[0] == 503


async def test_a_locked_database_does_not_block_the_event_loop(db: Path) -> None:
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        status, _ = await ask(AskDesk(db, busy_timeout=0.05))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert status == 503


async def test_nothing_a_device_sends_can_approve_anything(db: Path) -> None:
    """The form's body is the only input the device controls: every field but `message` is
    ignored, and there is no approve endpoint to post to."""
    add_request(db, "emma", "tiktok.com", "social_networks", "", NOW)  # request #1, waiting
    forged = urlencode(
        {
            "id": "1",
            "status": "approved",
            "approved_until": "2099-01-01T00:00:00",
            "answered_at": "2026-03-08T19:00:00",
            "profile": "leo",
            "domain": "evil.example",
            "category": "education",
            "approve": "always",
            "message": "hi",
        }
    )
    for body in (forged, forged + "&message=again"):
        await ask(AskDesk(db), body, decision=blocked("www.roblox.com"))
    rows = list_requests(db, None)
    assert [(r.id, r.profile, r.domain, r.category, r.status, r.approved_until) for r in rows] == [
        (1, "emma", "tiktok.com", "social_networks", "pending", None),
        (2, "emma", "roblox.com", "games", "pending", None),
    ]
    assert approvals_in_force(db, NOW) == {}
    assert not any(hasattr(AskDesk, name) for name in ("approve", "deny", "answer"))


# --- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "now", "until"),
    [
        ("15m", NOW, NOW + timedelta(minutes=15)),
        ("1h", NOW, NOW + timedelta(hours=1)),
        (" 1H30m ", NOW, NOW + timedelta(minutes=90)),
        ("today", NOW, datetime(2026, 3, 9, 0, 0)),
        ("today", datetime(2026, 3, 8, 23, 59, 30), datetime(2026, 3, 9, 0, 0)),
        ("today", datetime(2026, 12, 31, 8, 0), datetime(2027, 1, 1, 0, 0)),
        ("Always", NOW, None),
    ],
)
def test_durations(text: str, now: datetime, until: datetime | None) -> None:
    assert parse_duration(text).until(now) == until


@pytest.mark.parametrize("text", ["", "0m", "15", "soon", "25h", "-1h", "forever"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(BadDuration, match="15m, 1h, today or always"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("duration", "shown"),
    [(Duration("minutes", 15), "15m"), (Duration("minutes", 90), "1h30m"),
     (Duration("minutes", 120), "2h"), (Duration("today"), "today")],
)  # fmt: skip
def test_durations_print_as_typed(duration: Duration, shown: str) -> None:
    assert str(duration) == shown


# --- the parent's answer ----------------------------------------------------------------------


@pytest.fixture
def household(tmp_path: Path) -> Path:
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    return policies


def request(db: Path, domain: str = "roblox.com", profile: str = "emma") -> int:
    result = add_request(db, profile, domain, "games", "", NOW)
    assert result.request_id is not None
    return result.request_id


@pytest.mark.parametrize(
    ("duration", "until"),
    [("15m", NOW + timedelta(minutes=15)), ("1h", NOW + timedelta(hours=1)),
     ("today", datetime(2026, 3, 9))],
)  # fmt: skip
def test_a_timed_approval_is_in_force_at_once(
    db: Path, household: Path, duration: str, until: datetime
) -> None:
    rid = request(db)
    emma_before = (household / "emma.yaml").read_text()
    answer = approve_request(household, db, rid, duration, NOW)
    assert (answer.until, answer.edited, answer.request.status) == (until, None, "approved")
    assert approvals_in_force(db, NOW) == {"emma": {"roblox.com": until}}
    assert approvals_in_force(db, until) == {}
    assert (household / "emma.yaml").read_text() == emma_before


def test_always_adds_the_site_to_the_profile_file(db: Path, household: Path) -> None:
    rid = request(db)
    answer = approve_request(household, db, rid, "always", NOW, during="block")
    assert answer.until is None and answer.edited == (household / "emma.yaml").absolute()
    emma = load_policies(household).profiles["emma"]
    assert "roblox.com" in emma.allow_domains
    assert [w.name for w in answer.windows] == ["bedtime"] and answer.during == "block"
    assert "roblox.com" not in emma.schedule[0].allow  # bedtime still applies to it
    # in force at once, before the proxy has reloaded the file
    assert approvals_in_force(db, NOW) == {"emma": {"roblox.com": None}}
    assert get_request(db, rid).approved_until is None


def test_always_asks_about_a_window_that_would_still_block_the_site(
    db: Path, household: Path
) -> None:
    """Emma's bedtime blocks everything: "always" alone would leave the site blocked then."""
    before = (household / "emma.yaml").read_text()
    rid = request(db)
    with pytest.raises(ScheduleChoiceNeeded, match="during Emma's bedtime .*--during-schedule"):
        approve_request(household, db, rid, "always", NOW)
    assert (household / "emma.yaml").read_text() == before
    assert get_request(db, rid).status == "pending"


def test_always_including_the_window_adds_it_to_the_windows_allow(
    db: Path, household: Path
) -> None:
    rid = request(db)
    answer = approve_request(household, db, rid, "always", NOW, during="allow")
    emma = load_policies(household).profiles["emma"]
    assert "roblox.com" in emma.allow_domains and "roblox.com" in emma.schedule[0].allow
    assert emma.schedule[0].allow == ("khanacademy.org", "roblox.com")
    assert answer.during == "allow"
    assert "# still reachable during bedtime" in (household / "emma.yaml").read_text()


def test_a_window_of_other_categories_needs_no_choice(db: Path, household: Path) -> None:
    """Leo's school-night blocks social networks, chat, games and video only."""
    shopping = add_request(db, "leo", "shop.example", "shopping", "", NOW).request_id
    assert shopping is not None
    answer = approve_request(household, db, shopping, "always", NOW)
    assert (answer.windows, answer.during) == ((), None)
    chat = add_request(db, "leo", "discord.com", "chat", "", NOW).request_id
    assert chat is not None
    with pytest.raises(ScheduleChoiceNeeded, match="Leo's school-night"):
        approve_request(household, db, chat, "always", NOW)


def test_including_a_window_the_file_does_not_write_changes_nothing(
    db: Path, household: Path
) -> None:
    """A window inherited from the base is not in the child's file: refused, nothing half-done."""
    (household / "defaults.yaml").write_text(
        (household / "defaults.yaml").read_text()
        + 'schedule:\n  night:\n    days: [mon]\n    from: "21:00"\n    to: "06:00"\n'
        "    block: everything\n"
    )
    before = (household / "guest.yaml").read_text()
    rid = request(db, profile="guest")
    with pytest.raises(VaccineError, match="schedule is not written in this file"):
        approve_request(household, db, rid, "always", NOW, during="allow")
    assert (household / "guest.yaml").read_text() == before
    assert get_request(db, rid).status == "pending"


def test_always_for_a_site_already_allowed_changes_no_file(db: Path, household: Path) -> None:
    rid = request(db, "khanacademy.org")
    answer = approve_request(household, db, rid, "always", NOW)
    assert answer.edited is None and answer.request.status == "approved"


def test_always_for_a_blocked_domain_is_refused_and_stays_pending(
    db: Path, household: Path
) -> None:
    rid = request(db, "tiktok.com")
    with pytest.raises(VaccineError, match="block.domains.*tie"):
        approve_request(household, db, rid, "always", NOW)
    assert get_request(db, rid).status == "pending"
    assert approve_request(household, db, rid, "1h", NOW).request.status == "approved"


def test_always_for_a_profile_that_is_gone(db: Path, household: Path) -> None:
    rid = request(db, profile="olivia")
    with pytest.raises(VaccineError, match="no longer exists"):
        approve_request(household, db, rid, "always", NOW)


def test_always_needs_valid_policies(db: Path, household: Path) -> None:
    (household / "guest.yaml").write_text("name: Guests\nsafe_search: sometimes\n")
    rid = request(db)
    with pytest.raises(VaccineError, match="have problems"):
        approve_request(household, db, rid, "always", NOW)
    assert get_request(db, rid).status == "pending"


def test_deny_and_answering_twice(db: Path, household: Path) -> None:
    rid = request(db)
    assert deny_request(db, rid, NOW).request.status == "denied"
    assert approvals_in_force(db, NOW) == {}
    with pytest.raises(AlreadyAnswered):
        approve_request(household, db, rid, "1h", NOW)
    with pytest.raises(AlreadyAnswered):
        deny_request(db, rid, NOW)
    with pytest.raises(RequestNotFound):
        approve_request(household, db, 99, "1h", NOW)
    with pytest.raises(BadDuration):
        approve_request(household, db, rid, "soon", NOW)
