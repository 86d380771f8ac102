"""`vaccine lists update | compile | stats`, against a local HTTP server (never the internet)."""

from __future__ import annotations

import functools
import io
import json
import os
import tarfile
import threading
import time
import types
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import vaccine.proxy.policy as policy_package
from vaccine.proxy.cli.lists import lists_dir
from vaccine.proxy.cli.main import build_parser, main
from vaccine.proxy.errors import Problem, ProblemsError
from vaccine.proxy.lists import index as lists
from vaccine.proxy.lists.index import load_lists
from vaccine.proxy.lists.layout import INDEX_FILE
from vaccine.proxy.policy.model import CATEGORIES

SOURCES = """\
sources:
  ut1:
    url: {base}/blacklists.tar.gz
    format: ut1
    into: ut1
    categories:
      adult: adult
      drogue: drugs
  porn:
    url: {base}/pornography-hosts
    format: hosts
    into: sinfonietta/pornography-hosts
    category: adult
  mine:
    format: plain
    into: mine.txt
    category: games
"""


def tarball(files: dict[str, str], links: dict[str, str] | None = None, top: str = "blacklists"):
    """A .tar.gz like UT1's: one top folder, category folders, alias symlinks."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return out.getvalue()


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    www = tmp_path / "www"
    www.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def folder(tmp_path: Path, server: tuple[Path, str]) -> Path:
    www, base = server
    root = tmp_path / "blocklists"
    root.mkdir()
    (root / "sources.yaml").write_text(SOURCES.format(base=base))
    (root / "mine.txt").write_text("play.example\n")
    publish(www, "adult.example")
    return root


def publish(www: Path, adult: str) -> None:
    files = {
        "adult/domains": f"{adult}\n",
        "adult/usage": "black\n",
        "drogue/domains": "weed.example\n",
        "global_usage": "NAME: adult\n",
    }
    (www / "blacklists.tar.gz").write_bytes(tarball(files, {"porn": "adult", "drugs": "drogue"}))
    (www / "pornography-hosts").write_text(f"# hosts\n0.0.0.0 www.{adult}\n")
    newer(www)


def newer(www: Path) -> None:
    """Date every published file later than any copy taken so far: HTTP dates have whole
    seconds, and an update asks "changed since?" (If-Modified-Since)."""
    newer.stamp = getattr(newer, "stamp", time.time()) + 10  # type: ignore[attr-defined]
    for f in www.iterdir():
        os.utime(f, (newer.stamp, newer.stamp))  # type: ignore[attr-defined]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    lists._MEMO.clear()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_update_downloads_swaps_in_and_compiles(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "lists", "update", "--lists", str(folder))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("ut1: updated, 4 files, ")
    assert lines[1].startswith("porn: updated, 1 entry, 0.0 MiB downloaded (")
    assert lines[2].startswith(f"compiled 4 entries from 4 files into {folder / INDEX_FILE}")
    assert (folder / "ut1").is_symlink()
    assert not (folder / "ut1").readlink().is_absolute()  # the folder can move
    found = load_lists(folder)
    assert found.problems == []
    assert found.categories("x.adult.example") == {"adult"}
    assert found.categories("weed.example") == {"drugs"}
    assert found.categories("play.example") == {"games"}  # no url: left alone, still loaded
    assert found.stats()["adult"] == 2  # the porn -> adult alias is not counted twice
    assert not [p for p in folder.iterdir() if p.name.startswith(".update-")]
    assert not (folder / ".updating").exists()  # the running proxy may reload again


def test_a_second_update_replaces_the_copy(
    folder: Path, server: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "lists", "update", "--lists", str(folder))[0] == 0
    publish(server[0], "newer.example")
    assert run(capsys, "lists", "update", "--lists", str(folder))[0] == 0
    found = load_lists(folder)
    assert found.categories("newer.example") == {"adult"}
    assert found.categories("adult.example") == frozenset()
    versions = [p for p in folder.iterdir() if p.name.startswith(".ut1.")]
    assert versions == [folder / (folder / "ut1").readlink()]  # the old copy is gone
    assert found.problems == []  # and the index is current


@pytest.mark.parametrize(
    ("break_it", "why"),
    [
        (
            lambda www: (www / "pornography-hosts").unlink(),
            "porn: failed (HTTP 404 File not found from 127.0.0.1)",
        ),
        (
            lambda www: (www / "pornography-hosts").write_text("<html><body>Log in</body></html>"),
            "porn: failed (no entries in the download",
        ),
        (
            lambda www: (www / "blacklists.tar.gz").write_bytes(b"<html>Sign in</html>"),
            "ut1: failed (not a .tar.gz archive, or a damaged one)",
        ),
        (
            lambda www: (www / "blacklists.tar.gz").write_bytes(tarball({"README": "moved"})),
            "ut1: failed (the archive holds no <category>/domains files)",
        ),
        (
            lambda www: (www / "blacklists.tar.gz").write_bytes(
                tarball({"../escape/domains": "evil.example\n"}, top="")
            ),
            "ut1: failed (",
        ),
    ],
)
def test_a_failed_source_keeps_the_previous_copy(
    folder: Path,
    server: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
    break_it: object,
    why: str,
) -> None:
    assert run(capsys, "lists", "update", "--lists", str(folder))[0] == 0
    break_it(server[0])  # type: ignore[operator]
    newer(server[0])
    code, out, _ = run(capsys, "lists", "update", "--lists", str(folder))
    assert code == 1
    failed = [line for line in out.splitlines() if ": failed (" in line]
    assert len(failed) == 1 and failed[0].startswith(why)
    assert failed[0].endswith("; keeping the previous copy")
    found = load_lists(folder)
    assert found.categories("adult.example") == {"adult"}
    assert found.categories("www.adult.example") == {"adult"}
    assert not (folder.parent / "escape").exists()


def test_a_folder_unpacked_by_hand_is_replaced(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "ut1/adult").mkdir(parents=True)
    (folder / "ut1/adult/domains").write_text("old.example\n")
    assert run(capsys, "lists", "update", "ut1", "--lists", str(folder))[0] == 0
    assert (folder / "ut1").is_symlink()
    found = load_lists(folder)
    assert found.categories("adult.example") == {"adult"}
    assert found.categories("old.example") == frozenset()
    assert not (folder / "sinfonietta").exists()  # only the source asked for


def test_file_urls_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("0.0.0.0 local.example\n")
    root = tmp_path / "lists"
    root.mkdir()
    (root / "sources.yaml").write_text(
        f"sources:\n  h:\n    url: {hosts.as_uri()}\n    format: hosts\n    category: malware\n"
    )
    code, out, _ = run(capsys, "lists", "update", "--lists", str(root), "--no-compile")
    assert code == 0
    assert out.splitlines()[0].startswith("h: updated, 1 entry, 0.0 MiB downloaded (")
    assert not (root / INDEX_FILE).exists()
    assert load_lists(root).categories("local.example") == {"malware"}


def test_update_refuses_an_unknown_source(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "lists", "update", "nope", "--lists", str(folder))
    assert code == 1
    assert err.strip() == f"vaccine lists: no source named nope in {folder / 'sources.yaml'}"


def test_update_with_nothing_to_download(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "lists", "update", "--lists", str(tmp_path))
    assert code == 0 and out.startswith("nothing to download")


def test_compile(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "lists", "compile", "--lists", str(folder))
    assert code == 0
    assert out.startswith(f"compiled 1 entry from 1 file into {folder / INDEX_FILE} in ")
    assert (folder / INDEX_FILE).is_file()


def test_stats_table_and_json(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "lists", "update", "--lists", str(folder))
    code, out, _ = run(capsys, "lists", "stats", "--lists", str(folder))
    assert code == 0
    rows = dict(line.rsplit(None, 1) for line in out.splitlines()[1 : 2 + len(CATEGORIES)])
    assert {k.strip(): v for k, v in rows.items()} == {
        **{c: "0" for c in CATEGORIES},
        "adult": "2",
        "drugs": "1",
        "games": "1",
        "(distinct)": "4",
    }
    code, out, _ = run(capsys, "lists", "stats", "--json", "--lists", str(folder))
    data = json.loads(out)
    assert (data["categories"]["adult"], data["entries"], data["warnings"]) == (2, 4, 0)


def test_bad_sources_yaml_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sources.yaml").write_text("sources:\n  x:\n    format: zip\n")
    for action in ("update", "compile", "stats"):
        code, out, err = run(capsys, "lists", action, "--lists", str(tmp_path))
        assert code == 1
        assert "sources.yaml:3: sources.x.format: must be one of" in err


def test_lists_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parse = build_parser().parse_args
    args = parse(["lists", "stats", "--lists", str(tmp_path)])
    assert lists_dir(args) == tmp_path

    def stub(**attrs: object) -> None:
        module = types.SimpleNamespace(**attrs)
        monkeypatch.setitem(__import__("sys").modules, "vaccine.proxy.policy.load", module)
        monkeypatch.setattr(policy_package, "load", module, raising=False)

    settings = types.SimpleNamespace(blocklists=tmp_path / "from-settings")
    stub(load_settings=lambda d: (settings, []))
    assert lists_dir(parse(["lists", "stats", "--policies", "p"])) == tmp_path / "from-settings"
    assert lists_dir(parse(["lists", "--policies", "p", "stats"])) == tmp_path / "from-settings"

    def broken(d: Path) -> object:
        raise ProblemsError([Problem("settings.yaml", 1, "bad")])

    stub(load_settings=broken)
    assert lists_dir(parse(["lists", "stats"])) == Path("blocklists")


def test_an_update_in_progress_is_marked_for_the_running_proxy(tmp_path: Path) -> None:
    import os
    import time

    from vaccine.proxy.lists.layout import UPDATING_FILE, UPDATING_STALE_SECONDS, update_in_progress

    assert not update_in_progress(tmp_path)
    marker = tmp_path / UPDATING_FILE
    marker.write_text("1\n")
    assert update_in_progress(tmp_path)
    old = time.time() - UPDATING_STALE_SECONDS - 1  # left by an update that died
    os.utime(marker, (old, old))
    assert not update_in_progress(tmp_path)


def test_a_marker_left_by_a_killed_update_is_ignored_at_once(tmp_path: Path) -> None:
    import subprocess

    from vaccine.proxy.lists.layout import UPDATING_FILE, update_in_progress

    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid is free now (and not reused within this test)
    (tmp_path / UPDATING_FILE).write_text(f"{dead.pid}\n")
    assert not update_in_progress(tmp_path)
    (tmp_path / UPDATING_FILE).write_text(f"{os.getpid()}\n")
    assert update_in_progress(tmp_path)


def test_lists_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clear = tmp_path / "clear.txt"
    clear.write_text("0.0.0.0 abuse.example\nimages.example/gallery/12\n")
    out = tmp_path / "hashed" / "hotline.sha256"
    code, _, err = run(capsys, "lists", "hash", str(clear), "-o", str(out))
    assert (code, err) == (0, f"hashed 1 hosts and 1 URL prefixes into {out}\n")
    assert "example" not in out.read_text() and len(out.read_text().splitlines()) == 4
    assert out.stat().st_mode & 0o777 == 0o644
    code, printed, _ = run(capsys, "lists", "hash", str(clear))  # to stdout
    assert (code, printed) == (0, out.read_text())
    code, printed, _ = run(capsys, "lists", "stats", "--lists", str(tmp_path))
    assert f"2 digests in hashed lists of known abuse material ({tmp_path}/hashed)" in printed
    code, printed, _ = run(capsys, "lists", "stats", "--json", "--lists", str(tmp_path))
    assert json.loads(printed)["hashed"] == 2
    (tmp_path / "html.txt").write_text("<html>\n")
    for argv, message in [
        ([str(tmp_path / "nope.txt")], "nope.txt: cannot be read (No such file or directory)"),
        ([str(tmp_path / "html.txt")], "html.txt: no host or URL in it (1 junk lines)"),
        ([str(clear), "-o", str(tmp_path / "x.txt")], "x.txt: a hashed list's name ends in"),
    ]:
        code, _, err = run(capsys, "lists", "hash", *argv)
        assert code == 1 and message in err and err.count("\n") == 1
