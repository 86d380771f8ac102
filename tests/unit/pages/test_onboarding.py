"""pages.onboarding: the set-up page in the configured language, and the PAC file."""

from __future__ import annotations

import pytest

from vaccine.proxy.pages import onboarding


def page(language: str = "en", **kw: str) -> str:
    args = {
        "setup_host": "mitm.it",
        "proxy_address": "192.168.1.10:8080",
        "pac_url": "http://192.168.1.10:8080/proxy.pac",
        "fingerprint": "AB:CD",
        **kw,
    }
    return onboarding.render(language=language, **args)


def test_every_system_has_its_steps_and_its_certificate_file() -> None:
    html = page()
    for system, path in onboarding.SYSTEMS.items():
        block = html.split(f'<details id="{system}">')[1].split("</details>")[0]
        assert f'href="http://mitm.it{path}"' in block
        assert "<p>" in block and len(block) > 150
    assert "Trust this certificate for identifying websites" in html  # ChromeOS
    assert 'src="https://mitm.it/trust.svg"' in html
    assert "http://192.168.1.10:8080/proxy.pac" in html and "AB:CD" in html


@pytest.mark.parametrize(
    ("language", "words", "direction"),
    [
        ("pl", "Przygotuj to urządzenie", "ltr"),
        ("vi", "Thiết lập thiết bị này", "ltr"),
        ("ar", "إعداد هذا الجهاز", "rtl"),
    ],
)
def test_in_every_language(language: str, words: str, direction: str) -> None:
    html = page(language)
    assert f'<html lang="{language}" dir="{direction}">' in html
    assert words in html and "Set up this device" not in html
    assert '<span class="url" dir="ltr">' in html  # a URL reads left to right in Arabic too


def test_an_unknown_language_is_english() -> None:
    assert '<html lang="en" dir="ltr">' in page("xx")


def test_what_is_inserted_is_escaped() -> None:
    html = page(proxy_address='<b>"x"</b>', fingerprint="<script>")
    assert "<b>" not in html and "<script>\n" not in html.replace("<script>\n(function", "")
    assert "&lt;b&gt;" in html


def test_pac_sends_everything_to_the_proxy_and_never_direct_past_it() -> None:
    text = onboarding.pac("192.168.1.10:8080")
    assert text.rstrip().endswith('return "PROXY 192.168.1.10:8080";\n}'.rstrip())
    assert "; DIRECT" not in text


@pytest.mark.parametrize(
    ("host", "wpad"), [("wpad", True), ("wpad.home.arpa", True), ("wpadx.com", False),
                       ("www.wpad.com", False)],
)  # fmt: skip
def test_wpad_hosts(host: str, wpad: bool) -> None:
    assert onboarding.is_wpad_host(host) is wpad
