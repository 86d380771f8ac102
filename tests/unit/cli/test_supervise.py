"""vaccine.proxy.cli.workers.supervise: the supervisor's own guarantees, with workers that are
plain forks doing nothing but announce and wait (no proxy), in a process of their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

#: A supervisor of two do-nothing workers; each writes its pid into the folder argv[1] names.
#: argv[2] says when the supervisor is stopped: "before" = while it prepares the others.
SCRIPT = textwrap.dedent("""
    import os, signal, sys, time
    from pathlib import Path
    from vaccine.proxy.cli.workers import supervise
    from vaccine.proxy.util.worker import announce_ready

    folder = Path(sys.argv[1])

    def serve(index, restarted):
        (folder / str(os.getpid())).write_text(str(index))
        announce_ready()
        while True:
            time.sleep(0.05)

    def before_the_others():
        # The stop arrives while the supervisor gets the others ready (importing mitmproxy).
        os.kill(os.getpid(), signal.SIGTERM)

    sys.exit(supervise(2, 0.5, serve, before_the_others))
""")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return not f.read().split(") ")[1].startswith("Z")
    except OSError:
        return False


def test_a_stop_while_the_others_are_prepared_forks_no_worker_it_never_tells(
    tmp_path: Path,
) -> None:
    p = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path)])
    try:
        # Its own wait for a worker that was never told would be grace + 20 s.
        code = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        code = None
    finally:
        for f in tmp_path.iterdir():  # whatever it left running
            if _alive(int(f.name)):
                os.kill(int(f.name), signal.SIGKILL)
    assert code is not None, "the supervisor still waited 10 s after SIGTERM"
    started = sorted(f.read_text() for f in tmp_path.iterdir())
    assert started == ["0"], f"workers started after the stop: {started}"
    deadline = time.monotonic() + 5
    while any(_alive(int(f.name)) for f in tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(int(f.name)) for f in tmp_path.iterdir())
