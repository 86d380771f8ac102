"""Every default path in one place; tests redirect them with arguments or the environment."""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_POLICIES = Path("/etc/vaccine/policies")
# Where mitmproxy keeps its CA by default is the user's home; ours can be moved with
# --confdir or VACCINE_CONFDIR (tests always do).
DEFAULT_CONFDIR = "~/.mitmproxy"
#: The set-up page's name (mitmproxy's `onboarding_host` default).
ONBOARDING_HOST = "mitm.it"
#: Where the block page's "Ask a parent" form posts: a reserved path on the blocked host,
#: answered by the proxy itself and never forwarded.
ASK_PATH = "/.well-known/digital-vaccine/ask"


def default_policies_dir() -> Path:
    """`./policies` when it exists, else `/etc/vaccine/policies` (the contract's rule)."""
    env = os.environ.get("VACCINE_POLICIES")
    if env:
        return Path(env)
    local = Path("policies")
    return local if local.is_dir() else SYSTEM_POLICIES


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
