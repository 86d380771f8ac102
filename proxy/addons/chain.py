"""Our addons as one entry of mitmproxy's addon chain.

mitmproxy offers every event to every addon in its chain, whether or not the addon has a hook
for it: per addon and event a `safecall` context manager, an `invoke_addon` coroutine and two
generators that look the hook up by name (~1.7 µs here, measured with 14 addons that define
nothing). A kept-alive HTTP request is four events, so a dozen addons of ours cost ~80 µs a
request before any of them did anything: as much as the decision and the log together.

`Addons` is one chain entry. At start it looks up, once, which of its addons define each hook,
and calls only those, in their order, as mitmproxy would: an exception in one is logged as
mitmproxy logs it ("Addon error: ...") and the next still runs (our hooks catch their own
errors to fail closed; this only keeps one concern from silencing another), `AddonHalt` stops
the event. A hook that returns an awaitable (an `async def` one, or a sync one that returns a
coroutine only for the few requests it answers) is awaited before the next hook runs; until
one does, nothing is awaited, so an event none of ours waits on costs no coroutine at all.

The addons are not mitmproxy's sub-addons (an `addons` attribute): mitmproxy would then offer
them every event itself, which is the cost this removes.

`compact` does the same for the whole chain once `vaccine run` has built it: mitmproxy's own
thirty-odd addons (most define no hook for most events) and ours become a few entries. Every
flow event is offered twice (the event, then `update`), so a kept-alive request was ~8 passes
over ~37 entries: about a third of the proxy's CPU per request went to offering events to
addons that do nothing with them, in `vaccine run` as in plain mitmdump.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any

from mitmproxy import exceptions, hooks
from mitmproxy.addonmanager import AddonManager

#: mitmproxy's own logger for hook errors, so the console reduces them as it does mitmproxy's
log = logging.getLogger("mitmproxy.addonmanager")

Hook = Callable[..., Any]


class Addons:
    """One chain entry calling, for each mitmproxy event, the hooks of `addons` that have it."""

    name = "vaccine"

    def __init__(self, addons: Sequence[object]) -> None:
        self.members = list(addons)
        for event in hooks.all_hooks:
            found = [fn for a in self.members if callable(fn := getattr(a, event, None))]
            if found:
                setattr(self, event, _dispatcher(event, found))

    def __repr__(self) -> str:
        return f"Addons({', '.join(type(a).__name__ for a in self.members)})"


def compact(manager: AddonManager) -> None:
    """Merge the chain's entries, in their order, into `Addons` entries. An entry with
    sub-addons (`addons`: the script loader, whose scripts come and go while it runs) stays an
    entry of its own, between two merged ones, so it is offered each event at the same point.

    Call it last, once every addon is added (`add` after it appends a plain entry, which
    works, at the old cost): the names stay registered (`manager.get`), options and commands
    are untouched, and only how events reach the hooks changes. Removing a merged addon
    later would not take it out of its entry; nothing removes one once the proxy runs."""
    chain: list[object] = []
    run: list[object] = []
    for entry in manager.chain:
        if isinstance(entry, Addons):
            run += entry.members
        elif hasattr(entry, "addons"):
            if run:
                chain.append(Addons(run))
                run = []
            chain.append(entry)
        else:
            run.append(entry)
    if run:
        chain.append(Addons(run))
    manager.chain = chain


def _dispatcher(event: str, found: list[Hook]) -> Hook:
    if len(found) == 1:
        only = found[0]

        def one(*args: Any) -> Any:
            try:
                return only(*args)
            except (exceptions.AddonHalt, exceptions.OptionsError):
                raise
            except Exception as e:
                _report(e)
                return None

        return one

    def call(*args: Any) -> Any:
        for i, fn in enumerate(found):
            try:
                result = fn(*args)
            except (exceptions.AddonHalt, exceptions.OptionsError):
                raise
            except Exception as e:
                _report(e)
                continue
            if result is not None and inspect.isawaitable(result):
                return _rest(result, found[i + 1 :], args)
        return None

    return call


async def _rest(pending: Any, rest: list[Hook], args: tuple[Any, ...]) -> None:
    """Await the hook that returned an awaitable, then run the rest in order."""
    try:
        await pending
    except (exceptions.AddonHalt, exceptions.OptionsError):
        raise
    except Exception as e:
        _report(e)
    for fn in rest:
        try:
            result = fn(*args)
            if result is not None and inspect.isawaitable(result):
                await result
        except (exceptions.AddonHalt, exceptions.OptionsError):
            raise
        except Exception as e:
            _report(e)


def _report(e: Exception) -> None:
    log.error(f"Addon error: {e}", exc_info=(type(e), e, e.__traceback__))
