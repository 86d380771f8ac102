"""`vaccine lists update` as a person runs it, against a local server playing the list sites:
conditional requests, refused downloads that keep the copy in use, one-line reasons, a killed
update, progress lines in a log."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vaccine.proxy.lists import index
from vaccine.proxy.lists.index import load_lists
from vaccine.proxy.lists.layout import update_in_progress

from .harness import executable, wait_until
from .listsite import ListSite, ut1_tarball

pytestmark = pytest.mark.e2e

ADULT = [f"adult{i}.example" for i in range(40)]
DRUGS = [f"weed{i}.example" for i in range(10)]
MALWARE = [f"bad{i}.example" for i in range(30)]


def sources(base: str) -> str:
    return (
        "sources:\n"
        "  ut1:\n"
        f"    url: {base}/blacklists.tar.gz\n"
        "    format: ut1\n"
        "    categories: {adult: adult, drogue: drugs}\n"
        "  bad:\n"
        f"    url: {base}/hosts\n"
        "    format: hosts\n"
        "    into: bad.hosts\n"
        "    category: malware\n"
    )


def hosts(names: list[str]) -> bytes:
    return "".join(f"0.0.0.0 {n}\n" for n in names).encode()


@pytest.fixture
def site() -> Iterator[ListSite]:
    with ListSite() as s:
        s.publish("/blacklists.tar.gz", ut1_tarball({"adult": ADULT, "drogue": DRUGS}))
        s.publish("/hosts", hosts(MALWARE))
        yield s


@pytest.fixture
def lists(tmp_path: Path, site: ListSite) -> Path:
    root = tmp_path / "lists"
    (root / "local").mkdir(parents=True)
    (root / "local" / "games.txt").write_text("play.example\n")
    (root / "sources.yaml").write_text(sources(site.base))
    return root


def command() -> list[str]:
    exe = executable("vaccine")
    return [str(exe)] if exe else [sys.executable, "-m", "vaccine.proxy"]


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def update(lists: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command(), "lists", "update", "--lists", str(lists), "--timeout", "10", *args],
        env=env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def loaded(lists: Path) -> index.Lists:
    index._MEMO.clear()  # as a fresh process would see the folder
    return load_lists(lists)


def assert_old_lists_in_use(lists: Path) -> None:
    found = loaded(lists)
    assert found.categories("adult3.example") == {"adult"}
    assert found.categories("bad7.example") == {"malware"}
    # ...and from the compiled index, which is still current (no "out of date" warning)
    assert not [p for p in found.problems if "out of date" in p.message]
    assert not list(lists.glob(".update-*"))


def test_a_second_update_downloads_nothing(lists: Path, site: ListSite) -> None:
    first = update(lists)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].startswith("ut1: updated, ") and "50 entries" in lines[0]
    assert lines[1].startswith("bad: updated, 30 entries, ")
    assert lines[2].startswith("compiled 80 entries from 3 files")
    assert_old_lists_in_use(lists)

    second = update(lists)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [
        line
        for line in second.stdout.splitlines()
        if "unchanged since the last update (nothing downloaded)" in line
        or line == "the index is up to date: nothing changed"
    ]
    assert site.requests == {"/blacklists.tar.gz": 2, "/hosts": 2}
    assert site.full_bodies == {"/blacklists.tar.gz": 1, "/hosts": 1}

    site.publish("/hosts", hosts([*MALWARE, "new.example"]))
    third = update(lists)
    assert "bad: updated, 31 entries" in third.stdout
    assert "ut1: unchanged" in third.stdout
    assert site.full_bodies == {"/blacklists.tar.gz": 1, "/hosts": 2}
    assert loaded(lists).categories("new.example") == {"malware"}


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (
            "cut",
            "bad: failed (the download was cut short (0.0 of 0.0 MiB)); keeping the previous copy",
        ),
        ("shrunk", "bad: failed (shrank by more than half (30 → 3 entries): refused"),
        ("junk", "bad: failed (the download is mostly junk (40 junk lines, 1 entry)"),
        ("html", "bad: failed (no entries in the download (3 junk lines): not a list)"),
        ("500", "bad: failed (HTTP 500 Internal Server Error from 127.0.0.1); keeping"),
        ("archive-cut", "ut1: failed (a damaged archive (cut short?)"),
        (
            "archive-shrunk",
            "ut1: failed (shrank by more than half (50 → 15 entries; adult 40 → 5)",
        ),
    ],
)
def test_a_bad_download_is_refused_and_the_copy_in_use_kept(
    lists: Path, site: ListSite, breakage: str, message: str
) -> None:
    assert update(lists).returncode == 0
    if breakage == "cut":
        site.publish("/hosts", hosts([*MALWARE, "more.example"]))
        site.cut.add("/hosts")
    elif breakage == "shrunk":
        site.publish("/hosts", hosts(MALWARE[:3]))
    elif breakage == "junk":
        site.publish("/hosts", b"0.0.0.0 ok.example\n" + b"<div class=x>\n" * 40)
    elif breakage == "html":
        site.publish("/hosts", b"<html>\n<body>Sign in to the hotel Wi-Fi</body>\n</html>\n\n")
    elif breakage == "500":
        (lists / "sources.yaml").write_text(sources(site.base).replace("/hosts", "/broken"))
    elif breakage == "archive-cut":
        site.publish("/blacklists.tar.gz", ut1_tarball({"adult": [*ADULT, "x.example"]}) * 1)
        # gzip is cut in the middle of the stream: the announced length does arrive here
        body, etag, date = site.files["/blacklists.tar.gz"]
        site.files["/blacklists.tar.gz"] = (body[: len(body) // 2], etag, date)
    elif breakage == "archive-shrunk":
        site.publish("/blacklists.tar.gz", ut1_tarball({"adult": ADULT[:5], "drogue": DRUGS}))
    result = update(lists)
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if ": failed (" in line]
    assert len(failed) == 1 and failed[0].startswith(message), failed
    assert "Errno" not in result.stdout + result.stderr
    assert_old_lists_in_use(lists)
    if breakage == "shrunk":  # a person who knows the source shrank on purpose says so
        accepted = update(lists, "--allow-shrink")
        assert accepted.returncode == 0
        assert loaded(lists).categories("bad7.example") == frozenset()


def test_offline_says_so_in_one_line(lists: Path, site: ListSite) -> None:
    closed = site.base.rsplit(":", 1)[0] + ":1"  # nothing listens on port 1
    (lists / "sources.yaml").write_text(sources(closed))
    result = update(lists)
    assert result.returncode == 1
    assert result.stdout.splitlines()[:2] == [
        "ut1: failed (127.0.0.1 refused the connection (offline, or the site is down)); "
        "nothing downloaded yet: its categories have the starter lists only",
        "bad: failed (127.0.0.1 refused the connection (offline, or the site is down)); "
        "nothing downloaded yet: its categories have the starter lists only",
    ]
    assert result.stderr == ""
    assert loaded(lists).categories("play.example") == {"games"}


def test_progress_lines_in_a_log(lists: Path, site: ListSite) -> None:
    big = [f"host{i}.big-list.example" for i in range(120_000)]  # ~3 MiB: several reads
    site.publish("/hosts", hosts(big))
    result = update(lists, "--progress-interval", "0")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    downloading = [line for line in lines if line.startswith("bad: ") and " MiB of " in line]
    assert len(downloading) >= 2 and downloading[-1].endswith("(100%)")
    compiling = [line for line in lines if line.startswith("compiling: ")]
    assert compiling and compiling[-1].endswith(f"3 files (100%), {120_000 + 50:,} entries")
    assert "\r" not in result.stdout  # no bar outside a terminal


def test_a_killed_update_leaves_the_old_lists_working(lists: Path, site: ListSite) -> None:
    assert update(lists).returncode == 0
    later = ut1_tarball({"adult": [*ADULT, "later.example"], "drogue": DRUGS})
    site.publish("/blacklists.tar.gz", later)
    site.stall.add("/blacklists.tar.gz")
    proc = subprocess.Popen(
        [*command(), "lists", "update", "--lists", str(lists)],
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(site.stalled.is_set, timeout=60, what="the download half sent")
        wait_until(lambda: update_in_progress(lists), what="the update's marker")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    site.release.set()
    assert not update_in_progress(lists)  # a running proxy does not wait for a dead update
    assert list(lists.glob(".update-*"))  # its temporary copy is left, unused...
    found = loaded(lists)
    assert found.categories("adult3.example") == {"adult"}
    assert found.categories("later.example") == frozenset()
    assert not [p for p in found.problems if "out of date" in p.message]
    site.stall.clear()
    again = update(lists)  # ...and the next update cleans it up and goes on
    assert again.returncode == 0, again.stdout + again.stderr
    assert loaded(lists).categories("later.example") == {"adult"}
    assert not list(lists.glob(".update-*"))


def test_an_update_swapped_but_never_compiled_is_compiled_next_time(
    lists: Path, site: ListSite
) -> None:
    assert update(lists, "--no-compile").returncode == 0
    (lists / ".state" / "compile-pending").touch()  # as a kill between swap and compile leaves
    result = update(lists)
    assert "unchanged" in result.stdout and "compiled 80 entries" in result.stdout
    assert not (lists / ".state" / "compile-pending").exists()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="needs root")
def test_a_full_disk_is_one_clear_line(tmp_path: Path, site: ListSite) -> None:
    disk = tmp_path / "small"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)])
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        lists = disk / "lists"
        lists.mkdir()
        (lists / "sources.yaml").write_text(sources(site.base))
        assert update(lists).returncode == 0
        site.publish("/hosts", hosts([f"h{i}.filler.example" for i in range(200_000)]))  # 4 MiB
        result = update(lists)
        assert result.returncode == 1
        line = next(x for x in result.stdout.splitlines() if x.startswith("bad: failed"))
        assert line.startswith("bad: failed (the disk is full (")
        assert f"MiB free in {lists}); nothing was replaced); keeping the previous copy" in line
        assert "Errno" not in result.stdout + result.stderr
        assert loaded(lists).categories("bad7.example") == {"malware"}
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_an_update_killed_while_compiling_leaves_a_working_index(
    lists: Path, site: ListSite
) -> None:
    assert update(lists).returncode == 0
    index_file = lists / ".index" / "lists.idx"
    before = index_file.read_bytes()
    big = [f"host{i}.big-list.example" for i in range(300_000)]
    site.publish("/hosts", hosts(big))
    with subprocess.Popen(
        [*command(), "lists", "update", "--lists", str(lists), "--progress-interval", "0"],
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            for line in proc.stdout:  # killed as soon as it says it compiles: mid-compile
                if line.startswith("compiling: "):
                    proc.send_signal(signal.SIGKILL)
                    break
            proc.wait(timeout=30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert index_file.read_bytes() == before  # never half-written
    assert not update_in_progress(lists)
    found = loaded(lists)  # the swapped-in lists work (parsed, the index being for the old)
    assert found.categories("host7.big-list.example") == {"malware"}
    assert found.categories("adult3.example") == {"adult"}
    again = update(lists)  # the next update finishes the job although nothing changed
    assert "bad: unchanged" in again.stdout and "compiled " in again.stdout
    assert not [p for p in loaded(lists).problems if "out of date" in p.message]
