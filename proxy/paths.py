"""Every default path in one place; tests redirect them with arguments or the environment."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from vaccine.proxy.errors import VaccineError

SYSTEM_POLICIES = Path("/etc/vaccine/policies")
# Where mitmproxy keeps its CA by default is the user's home; ours can be moved with
# --confdir or VACCINE_CONFDIR (tests always do).
DEFAULT_CONFDIR = "~/.mitmproxy"
#: The set-up page's name (mitmproxy's `onboarding_host` default).
ONBOARDING_HOST = "mitm.it"
#: Where the block page's "Ask a parent" form posts: a reserved path on the blocked host,
#: answered by the proxy itself and never forwarded.
ASK_PATH = "/.well-known/digital-vaccine/ask"


def policies_candidates() -> list[Path]:
    """Where a command looks for the policy folder when `--policies` is not given, in order.

    `$VACCINE_POLICIES` alone when set (a service names its folder and means it); else
    `./policies`, then the `policies/` of the checkout whose `.venv` runs this command (so
    `/opt/vaccine/.venv/bin/vaccine` works from any directory, as a service starts it), then
    `/etc/vaccine/policies`.
    """
    env = os.environ.get("VACCINE_POLICIES")
    if env:
        return [Path(env)]
    out = [Path("policies")]
    checkout = install_checkout()
    if checkout is not None:
        out.append(checkout / "policies")
    out.append(SYSTEM_POLICIES)
    return list(dict.fromkeys(out))


def install_checkout() -> Path | None:
    """The folder holding the virtual environment this command runs in, when it is one
    (install.sh makes `.venv/` in the checkout); None for a system-wide install."""
    if sys.prefix == sys.base_prefix:
        return None
    return Path(sys.prefix).resolve().parent


def default_policies_dir() -> Path:
    """The first candidate folder that exists, else the last one (for commands that can do
    without policies, such as `vaccine report --db FILE`)."""
    candidates = policies_candidates()
    return next((c for c in candidates if c.is_dir()), candidates[-1])


def find_policies_dir(given: Path | None) -> Path:
    """The policy folder to use: `given` (`--policies`), else the first candidate that exists.
    Raises VaccineError, on one line, naming where it looked and how to say where it is."""
    if given is not None:
        if not given.is_dir():
            raise VaccineError(f"--policies {given}: no such policy directory")
        return given
    candidates = policies_candidates()
    found = next((c for c in candidates if c.is_dir()), None)
    if found is not None:
        return found
    looked = ", ".join(_shown(c) for c in candidates)
    if os.environ.get("VACCINE_POLICIES"):
        raise VaccineError(f"VACCINE_POLICIES={looked}: no such folder (or give --policies DIR)")
    raise VaccineError(
        f"no policy folder found (looked in {looked}); give --policies DIR or set VACCINE_POLICIES"
    )


def _shown(path: Path) -> str:
    return f"./{path}" if not path.is_absolute() else str(path)


def default_confdir() -> str:
    return os.environ.get("VACCINE_CONFDIR", DEFAULT_CONFDIR)


def resolve(base: Path, value: str | os.PathLike[str]) -> Path:
    """Resolve a path written in settings.yaml.

    Relative paths in settings.yaml are relative to the directory holding the policies
    directory (the checkout, for the example household), so `database: var/vaccine.db` means
    the same file whatever the current directory is.
    """
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base / p)


#: The term lists shipped inside the package. A lists folder without its own `terms/` (one a
#: school keeps elsewhere, `--lists DIR`) still gets them: search_terms must not silently
#: stop working because the category lists moved.
SHIPPED_TERMS = Path(__file__).resolve().parent / "lists" / "words"


def terms_dir(lists_dir: Path) -> Path:
    own = lists_dir / "terms"
    return own if own.is_dir() or not SHIPPED_TERMS.is_dir() else SHIPPED_TERMS
