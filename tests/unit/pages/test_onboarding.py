"""pages.onboarding: the set-up page in the configured language, and the PAC file."""

from __future__ import annotations

import pytest
import yaml

from vaccine.proxy.pages import blockpage, onboarding


def page(language: str = "en", **kw: str) -> str:
    args = {
        "setup_host": "mitm.it",
        "proxy_address": "192.168.1.10:8080",
        "pac_url": "http://192.168.1.10:8080/proxy.pac",
        "fingerprint": "AB:CD",
        **kw,
    }
    return onboarding.render(language=language, **args)


def test_every_system_has_steps_and_its_certificate_file() -> None:
    html = page()
    for system, path in onboarding.SYSTEMS.items():
        block = html.split(f'<details id="{system}">')[1].split("</details>")[0]
        assert block.count("<li>") >= 2
        assert f'href="http://mitm.it{path}"' in block
    assert 'src="https://mitm.it/trust.svg"' in html
    assert "http://192.168.1.10:8080/proxy.pac" in html and "AB:CD" in html


def test_in_polish() -> None:
    html = page("pl")
    assert '<html lang="pl" dir="ltr">' in html
    assert "Skonfiguruj to urządzenie" in html and "Set up this device" not in html


def test_a_missing_translation_falls_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    real = blockpage.strings

    def partial(language: str = "en"):  # type: ignore[no-untyped-def]
        s = dict(real(language))
        if language == "xx":
            s = {
                "lang": "xx",
                "onboarding": {"title": "XX title", "systems": {"ios": {"name": "XX iOS"}}},
            }
        return s

    monkeypatch.setattr(blockpage, "strings", partial)
    html = page("xx")
    assert "<title>XX title</title>" in html and "XX iOS" in html
    assert "Set up this device for Digital Vaccine" in html  # the heading, from English


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


@pytest.mark.parametrize("language", blockpage.available_languages())
def test_every_locale_that_has_the_page_names_every_system(language: str) -> None:
    own = yaml.safe_load(
        (
            blockpage.resources.files("vaccine.proxy.pages") / "locales" / f"{language}.yaml"
        ).read_text("utf-8")
    ).get("onboarding")
    if own is None:
        pytest.skip(f"{language} has no set-up page strings yet (English is shown)")
    assert set(own["systems"]) == set(onboarding.SYSTEMS)
