"""A headless Chromium driven over the DevTools protocol on a pipe (no port, no network).

`--remote-debugging-pipe` makes Chromium read commands from fd 3 and write answers to fd 4,
each a JSON message ended by a NUL byte. Enough of the protocol for the page tests: open a tab
at a given window size, load a file, run a script, ask which fonts drew a node's text, take a
screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def _onto_3_and_4(read_end: int, write_end: int) -> None:
    """In the child: the pipe ends onto fds 3 and 4 (by way of fresh numbers, in case one of
    them already is 3 or 4)."""
    r, w = os.dup(read_end), os.dup(write_end)
    os.dup2(r, 3)
    os.dup2(w, 4)


class BrowserError(RuntimeError):
    pass


class Browser:
    def __init__(self, executable: str, profile_dir: Path, timeout: float = 30.0) -> None:
        self.timeout = timeout
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        args = [
            executable, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--remote-debugging-pipe",
            f"--user-data-dir={profile_dir}", "about:blank",
        ]  # fmt: skip
        # fds 3 and 4 in the child are the two pipe ends, as Chromium expects.
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=lambda: _onto_3_and_4(to_chrome_r, from_chrome_w),
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "DOM", "CSS", "Runtime"):
            self.call(f"{domain}.enable", session=self.session)

    # -- the protocol ------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise BrowserError("Chromium did not answer")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed the pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._send(message)
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._receive(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result
            self._events.append(answer)

    def wait_event(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") == method:
                    del self._events[i]
                    return event
            self._events.append(self._receive(deadline))

    # -- what the tests use ------------------------------------------------------------------

    def open(self, url: str, width: int, height: int) -> None:
        s = self.session
        self.call("Emulation.setDeviceMetricsOverride", session=s, width=width, height=height,
                  deviceScaleFactor=1, mobile=width < 600)  # fmt: skip
        self._events.clear()
        self.call("Page.navigate", session=s, url=url)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", session=self.session, expression=expression,
                           returnByValue=True, awaitPromise=True)  # fmt: skip
        if "exceptionDetails" in result:
            raise BrowserError(str(result["exceptionDetails"]))
        return result["result"].get("value")

    def fonts_of(self, selector: str) -> set[str]:
        """The font families Chromium drew the text of every node matching `selector` with."""
        root = self.call("DOM.getDocument", session=self.session, depth=-1)["root"]["nodeId"]
        nodes = self.call("DOM.querySelectorAll", session=self.session, nodeId=root,
                          selector=selector)["nodeIds"]  # fmt: skip
        families: set[str] = set()
        for node in nodes:
            found = self.call("CSS.getPlatformFontsForNode", session=self.session, nodeId=node)
            families |= {f["familyName"] for f in found["fonts"] if f["glyphCount"]}
        return families

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", session=self.session, format="png",
                         captureBeyondViewport=True)["data"]  # fmt: skip
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        with contextlib.suppress(BrowserError):
            self.call("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
