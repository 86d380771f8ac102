"""Key labels in the configured language."""

from __future__ import annotations

from dataclasses import replace

from textual.binding import BindingsMap
from textual.dom import DOMNode

from vaccine.dashboard.i18n import Labels


def localise_bindings(node: DOMNode, labels: Labels) -> None:
    """Bindings are declared with label keys (`key.quit`); show them in the configured
    language. Textual keeps each node's bindings in `_bindings`, a per-instance copy."""
    node._bindings = BindingsMap.from_keys(
        {
            key: [
                replace(b, description=labels(b.description))
                if b.description.startswith("key.")
                else b
                for b in bindings
            ]
            for key, bindings in node._bindings.key_to_bindings.items()
        }
    )
