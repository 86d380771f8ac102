"""A child's page: the last 7 days as charts, the sites (or only the categories, as the
profile's `parents_see` says), and the policy in force in words, with whether its files are
valid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Sparkline, Static

from vaccine.dashboard.policy_words import describe_policy
from vaccine.dashboard.screens.base import DashboardScreen
from vaccine.dashboard.snapshot import Child, PolicyState, Snapshot
from vaccine.dashboard.widgets.category_sparks import CategorySparks
from vaccine.dashboard.widgets.day_bars import DayBars
from vaccine.proxy.errors import Problem

SITE = 24  # cells of the site column in the two-column tables
GAP = 2  # cells between two columns


def text_table(
    rows: Sequence[Sequence[str]], widths: Sequence[int], head: Sequence[str] = ()
) -> Content:
    """Rows of plain text in columns (width 0: the rest of the line), under a muted head.
    A cell too long for its column ends in "…"."""

    def cell(text: str, width: int) -> str:
        if not width:
            return text
        room = width - GAP
        return (text if len(text) <= room else text[: room - 1] + "…").ljust(width)

    def line(row: Sequence[str]) -> str:
        return "".join(cell(c, w) for c, w in zip(row, widths, strict=True)).rstrip()

    lines = [Content.styled(line(head), "bold $text-muted")] if head else []
    lines += [Content(line(row)) for row in rows]
    return Content("\n").join(lines)


def fit_columns(
    rows: Sequence[Sequence[str]], head: Sequence[str], room: int, least: int = 8
) -> tuple[int, ...]:
    """Column widths for `text_table` within `room` cells: each column as wide as its widest
    cell; when that is too wide, the first columns (sites, categories) give way, never to less
    than `least`, so the last one (a time or a count) is never cut or wrapped."""
    natural = [max(len(r[i]) for r in (*rows, head)) + GAP for i in range(len(head))]
    natural[-1] -= GAP
    over = sum(natural) - room
    for i in range(len(natural) - 1):
        if over <= 0:
            break
        give = min(over, max(0, natural[i] - least - GAP))
        natural[i] -= give
        over -= give
    return (*natural[:-1], 0)


def problem_text(problem: Problem) -> str:
    """`emma.yaml:11: message`: the file's name is enough on the page of its profile."""
    return str(replace(problem, file=Path(problem.file).name))


class ChildScreen(DashboardScreen):
    MODE = "overview"
    CSS_PATH = "child.tcss"
    BINDINGS = [
        Binding("escape,backspace", "back", "key.back"),
        # priority: the page scrolls with the arrows, but has nothing to show sideways
        Binding("left", "step(-1)", "key.prev", key_display="←", priority=True),
        Binding("right", "step(1)", "key.next", key_display="→", priority=True),
    ]

    def __init__(self, profile_id: str) -> None:
        super().__init__()
        self.profile_id = profile_id

    def compose_body(self) -> ComposeResult:
        labels = self.labels
        with VerticalScroll(id="page"):
            yield Static("", id="head")
            with Vertical(id="columns"):
                with Vertical(id="left"):
                    yield Static(labels("child.policy"), classes="section-title")
                    yield Static("", id="policy")
                    yield Static(labels("child.time_per_day"), classes="section-title")
                    yield DayBars(labels, id="days")
                    yield Static(labels("child.per_category"), classes="section-title")
                    yield CategorySparks(labels, id="sparks")
                with Vertical(id="right"):
                    yield Static(labels("child.blocked_per_day"), classes="section-title")
                    yield Sparkline([], id="blocked-spark")
                    yield Static("", id="blocked")
                    yield Static("", classes="section-title", id="sites-title")
                    yield Static("", id="sites")
                    yield Static(
                        labels("child.blocked_sites"), classes="section-title", id="bsites-title"
                    )
                    yield Static("", id="blocked-sites")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#page").focus()

    def show(self, snapshot: Snapshot) -> None:
        child = snapshot.child(self.profile_id)
        if child is None:
            return
        labels = self.labels
        week = child.week
        self.query_one("#head", Static).update(
            Content.assemble(
                (labels("child.title", name=child.name), "bold"),
                "   ",
                labels("child.week_total", total=labels.duration(week.minutes_online)),
                "   ",
                labels("child.safe_searches", n=week.rewritten_searches),
            )
        )
        self.query_one("#policy", Static).update(self._policy(child, snapshot.policy))
        online = [d.minutes for d in week.minutes_by_day]
        self.query_one(DayBars).show(snapshot.days, child.by_category_day, online)
        self.query_one(CategorySparks).show(child.by_category_day)
        self.query_one("#blocked-spark", Sparkline).data = [
            n for n in child.blocked_by_day for _ in range(6)
        ]  # 6 cells a day
        self.query_one("#blocked", Static).update(self._blocked(child, snapshot))
        self._sites(child)

    def _policy(self, child: Child, state: PolicyState) -> Content:
        labels = self.labels
        if child.profile is None:
            lines = [Content.styled(labels("child.no_policy"), "$text-muted")]
        else:
            lines = [Content(line) for line in describe_policy(child.profile, labels)]
        problems = state.problems_of(child.profile)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            lines.append(Content.styled("✗ " + labels("child.invalid"), "bold $error"))
            lines += [Content.styled(f"  {problem_text(p)}", "$error") for p in errors]
        elif state.loaded:
            lines.append(Content.styled("✓ " + labels("child.valid"), "$success"))
        lines += [
            Content.styled(f"  {problem_text(p)}", "$text-muted")
            for p in problems
            if p not in errors
        ]
        return Content("\n").join(lines)

    def _blocked(self, child: Child, snapshot: Snapshot) -> Content:
        labels = self.labels
        # A column per day, as wide as the language's short day names need ("Sun", "ث").
        column = max([6, *(len(labels.weekday(d, short=True)) + 1 for d in snapshot.days)])
        days = "".join(labels.weekday(d, short=True).ljust(column) for d in snapshot.days)
        counts = "".join(str(n).ljust(column) for n in child.blocked_by_day)
        kinds = " · ".join(
            f"{labels.category(c.category)} {c.count}" for c in child.week.blocked_by_category
        )
        lines = [
            Content.styled(days, "$text-muted"),
            Content(counts),
            Content.assemble((labels("child.blocked_total", n=child.week.blocked_total), "bold")),
        ]
        if kinds:
            lines.append(Content(kinds))
        return Content("\n").join(lines)

    def _sites(self, child: Child) -> None:
        labels = self.labels
        week = child.week
        title = self.query_one("#sites-title", Static)
        sites = self.query_one("#sites", Static)
        blocked = self.query_one("#blocked-sites", Static)
        self.query_one("#bsites-title").display = child.sites_visible
        blocked.display = child.sites_visible
        if not child.sites_visible:
            title.update(labels("child.categories_week"))
            by_category = [
                (labels.category(c.category), labels.duration(c.minutes))
                for c in week.minutes_by_category
            ]
            note = Content.styled(labels("child.categories_only", name=child.name), "$text-muted")
            sites.update(Content("\n").join([note, text_table(by_category, (SITE, 0))]))
            return
        title.update(labels("child.top_sites"))
        if not week.top_sites:
            sites.update(Content.styled(labels("child.no_sites"), "$text-muted"))
        else:
            top = [
                (s.site, labels.category(s.category), labels.duration(s.minutes))
                for s in week.top_sites
            ]
            head = (labels("col.site"), labels("col.category"), labels("col.time"))
            sites.update(text_table(top, fit_columns(top, head, self._room()), head))
        most_blocked = [(s.site, str(s.count)) for s in week.blocked_sites]
        blocked_head = (labels("col.site"), labels("col.count"))
        blocked.update(
            text_table(most_blocked, fit_columns(most_blocked, blocked_head, self._room()),
                       blocked_head)
            if most_blocked
            else Content("–")
        )  # fmt: skip

    def _room(self) -> int:
        """Cells the tables of the right-hand column may use (before the first layout: a
        guess; `on_resize` draws again with the real width)."""
        width = self.query_one("#right").content_size.width
        return width if width > 0 else 40

    def on_resize(self) -> None:
        snapshot = self.dashboard.snapshot
        if snapshot is not None:
            self.call_after_refresh(self.show, snapshot)

    def action_back(self) -> None:
        self.dismiss()

    def action_step(self, step: int) -> None:
        snapshot = self.dashboard.snapshot
        if snapshot is None or not snapshot.children:
            return
        ids = [c.id for c in snapshot.children]
        i = ids.index(self.profile_id) if self.profile_id in ids else 0
        self.profile_id = ids[(i + step) % len(ids)]
        self.show(snapshot)
        self.query_one("#page", VerticalScroll).scroll_home(animate=False)
