"""Digital Vaccine: the filtering proxy (policies, lists, the decision, the mitmproxy addon)."""

__version__ = "0.1.0"
