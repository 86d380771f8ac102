"""What the addons share: the household in force, the parents' approvals, each client
connection's login and CONNECT target, and the verdicts waiting to be logged.

One `Shared` is made by `default_addons` and handed to every addon. The household and the
approvals are replaced whole (a reload, a poll), never mutated, so a hook sees one or the
other, never half of each. A connection's state is dropped by the decision log, the last addon
to read it, when the client disconnects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from mitmproxy import connection, ctx
from mitmproxy.proxy import mode_specs

from vaccine.proxy.decision import NO_USAGE, Decision, Facts, Usage
from vaccine.proxy.household import Household
from vaccine.proxy.policy.identify import Identity
from vaccine.proxy.policy.model import Profile

#: identities remembered (source address, login, listener), forgotten all at once past this
_IDENTITIES = 4096


@dataclass(frozen=True)
class Verdict:
    """One decision and the profile it was made for, as tagged on a flow or a connection;
    `outcome` (blocked, allowed, rewritten, passed-through) once it is final for the log."""

    profile: Profile
    decision: Decision
    outcome: str | None = None


@dataclass
class ConnState:
    """What one client connection told us before its requests: its login and CONNECT target,
    and a connection-level verdict (CONNECT refused, handshake refused or passed through)
    that the decision log has not yet taken."""

    user: str | None = None
    connect_host: str | None = None
    pending: list[Verdict] = field(default_factory=list)


class Shared:
    def __init__(
        self,
        household: Household,
        clock: Callable[[], datetime] = datetime.now,
        minutes_today: Callable[[str], dict[str, int]] | None = None,
    ) -> None:
        self.household = household  # replaced whole by the reloader
        self.clock = clock
        #: profile → domain → until (None: always), replaced whole by the approvals poller
        self.approvals: dict[str, dict[str, datetime | None]] = {}
        #: active minutes per category today for a profile (the decision log's snapshot)
        self.minutes_today = minutes_today
        self.conns: dict[str, ConnState] = {}
        #: told the source address of a connection no profile recognises (addons.newdevices)
        self.on_unknown: Callable[[str], None] | None = None
        # Per request these would cost more than the decision itself: mitmproxy's options
        # deep-copy their default on every read, and parsing the peer's address to find its
        # profile takes ~15 µs. The options are read again after any change (`configure`);
        # identities are a pure function of their inputs and the household they came from.
        self._options: tuple[str | None, int | None] | None = None
        self._identities: dict[tuple[str | None, str, int | None, str], Identity] = {}
        self._identified_by: Household | None = None

    def conn(self, client: connection.Client) -> ConnState:
        return self.conns.setdefault(client.id, ConnState())

    def configure(self, updated: set[str]) -> None:
        """mitmproxy's options changed (called by the policy decision's `configure`)."""
        self._options = None

    def _opts(self) -> tuple[str | None, int | None]:
        """(the onboarding host when onboarding is on, the listen port), read once a change."""
        if self._options is None:
            opts = ctx.options
            self._options = (
                opts.onboarding_host if opts.onboarding else None,
                opts.listen_port,
            )
        return self._options

    def profile_for(self, client: connection.Client) -> Profile:
        h = self.household
        state = self.conns.get(client.id)
        mode = client.proxy_mode
        peer = client.peername[0] if client.peername else ""
        key = (
            state.user if state else None,
            peer,
            mode.listen_port(self._opts()[1]),
            mode.full_spec,
        )
        if self._identified_by is not h or len(self._identities) > _IDENTITIES:
            self._identities = {}
            self._identified_by = h
        identity = self._identities.get(key)
        if identity is None:
            identity = h.identifier.identify(
                user=key[0], peer=peer, listen_port=key[2], mode_spec=key[3]
            )
            self._identities[key] = identity
        # WireGuard peers all have mitmproxy's made-up 10.0.0.1: not a device on the network.
        if (
            identity.how == "unknown_devices"
            and self.on_unknown is not None
            and not isinstance(mode, mode_specs.WireGuardMode)
        ):
            self.on_unknown(peer)
        return h.policies.profiles[identity.profile_id]

    def usage(self, profile: Profile) -> Usage:
        approvals = self.approvals.get(profile.id)
        minutes = self.minutes_today(profile.id) if profile.limits and self.minutes_today else {}
        if not approvals and not minutes:
            return NO_USAGE
        return Usage(approvals=approvals or {}, minutes_today=minutes)

    def decide(self, profile: Profile, facts: Facts) -> Decision:
        """The household's decision, exactly as `vaccine explain` computes it."""
        return self.household.decide(
            facts, profile, self.clock(), self.usage(profile), onboarding_host=self._opts()[0]
        )
