"""Digital Vaccine: the filtering proxy (policies, lists, the decision, the mitmproxy addons)."""
