"""The product's own set-up page, instead of mitmproxy's mitm.it app, and the PAC file.

One page in the configured language: how to point the device at the proxy (a PAC URL, or
the server and port by hand), the certificate download in the format each system wants with
the steps for iOS, Android, Windows, macOS, ChromeOS and Firefox, and a live check of whether
this device trusts the certificate: the page loads an image from `https://<set-up host>/`,
which only the proxy answers, with a certificate of its own CA; the image arrives only when
the device trusts that CA (and uses the proxy). Without scripts the image itself shows.
"""

from __future__ import annotations

import functools
import html
import json
from importlib import resources
from string import Template
from typing import Any

from vaccine.proxy.pages import language as language_mod

#: system → the certificate file it takes (the path under the set-up host)
SYSTEMS: dict[str, str] = {
    "ios": "/cert/pem",
    "android": "/cert/cer",
    "windows": "/cert/p12",
    "macos": "/cert/pem",
    "chromeos": "/cert/cer",
    "firefox": "/cert/pem",
}
TRUST_PATH = "/trust.svg"
PAC_PATHS = ("/proxy.pac", "/wpad.dat")
PAC_TYPE = "application/x-ns-proxy-autoconfig"
#: a green tick; served only over the intercepted https, so its arrival proves trust
TRUST_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24">'
    b'<circle cx="12" cy="12" r="12" fill="#2e8540"/>'
    b'<path d="M6 12.5l4 4 8-9" stroke="#fff" stroke-width="2.5" fill="none"/></svg>'
)


def strings(language: str) -> dict[str, Any]:
    """The page's strings (`onboarding:` of the locale; English where one is missing)."""
    return dict(language_mod.locale(language).get("onboarding", {}))


@functools.cache
def _template() -> Template:
    folder = resources.files("vaccine.proxy.pages") / "templates"
    return Template((folder / "onboarding.html").read_text("utf-8"))


def render(
    *,
    language: str,
    setup_host: str,
    proxy_address: str,
    pac_url: str,
    fingerprint: str = "",
) -> str:
    """The set-up page. `setup_host` is the name the proxy answers for itself (mitm.it),
    `proxy_address` HOST:PORT of the proxy as this device reaches it."""
    s = strings(language)
    e = {k: html.escape(str(v)) for k, v in s.items() if isinstance(v, str)}
    whole = language_mod.locale(language)
    lang = str(whole.get("lang", language))
    names = s.get("names", {})
    systems = []
    for key, path in SYSTEMS.items():
        kind = path.rsplit("/", 1)[1]
        link = (
            f'<a class="download" href="http://{html.escape(setup_host)}{path}" '
            f'download="digital-vaccine-ca.{kind}">{e["download"]} (.{kind})</a>'
        )
        systems.append(
            f'<details id="{key}"><summary>{html.escape(str(names.get(key, key)))}</summary>'
            f"<p>{e[key]}</p>{link}</details>"
        )
    finger = ""
    if fingerprint:
        code = f'<code dir="ltr">{html.escape(fingerprint)}</code>'
        finger = f'<p class="note">{e["fingerprint"]} {code}</p>'
    messages = json.dumps({"ok": s["check_ok"], "no": s["check_no"]}, ensure_ascii=False)
    return _template().substitute(
        lang=html.escape(str(lang)),
        dir=language_mod.direction(whole),
        fonts=language_mod.FONTS[language_mod.direction(whole)],
        title=e["title"],
        heading=e["heading"],
        intro=e["intro"],
        check_heading=e["check_heading"],
        check_wait=e["check_wait"],
        check_noscript=e["check_noscript"],
        trust_url=html.escape(f"https://{setup_host}{TRUST_PATH}"),
        messages=messages.replace("<", "\\u003c"),
        proxy_heading=e["proxy_heading"],
        proxy_text=e["proxy_text"],
        pac_url=html.escape(pac_url),
        proxy_manual=e["proxy_manual"],
        proxy_address=html.escape(proxy_address),
        cert_heading=e["cert_heading"],
        systems="\n".join(systems),
        fingerprint=finger,
        done=e["done"],
        footer=e["footer"],
    )


def pac(proxy_address: str) -> str:
    """A PAC file sending everything through the proxy. No `DIRECT` fallback: a device whose
    proxy is down must not go round the filter (it fails closed); only the device itself
    (localhost) is reached directly."""
    return (
        "// Digital Vaccine: every site through the filtering proxy.\n"
        "function FindProxyForURL(url, host) {\n"
        '  if (host === "localhost" || shExpMatch(host, "127.*") || host === "[::1]")\n'
        '    return "DIRECT";\n'
        f'  return "PROXY {proxy_address}";\n'
        "}\n"
    )


def is_wpad_host(host: str) -> bool:
    """`wpad` or `wpad.<domain>`: the names browsers ask for their proxy settings."""
    return host == "wpad" or host.startswith("wpad.")
