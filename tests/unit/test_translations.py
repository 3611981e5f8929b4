"""Every translatable string has a Norwegian Bokmål translation (issue: two complete languages)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from babel.messages.pofile import read_po

from portvakt.web.i18n import LANGUAGES, Catalogs, pick_language

ROOT = Path(__file__).resolve().parents[2]


def _extract_ids() -> set[str]:
    spec = importlib.util.spec_from_file_location(
        "translations", ROOT / "scripts" / "translations.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {m.id if isinstance(m.id, str) else m.id[0] for m in module.extract() if m.id}


def test_norwegian_catalogue_is_complete_and_not_fuzzy() -> None:
    wanted = _extract_ids()
    assert len(wanted) > 50
    po = ROOT / "src/portvakt/web/locales/nb/LC_MESSAGES/messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale="nb")
    have = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"untranslated: {key!r}"
        assert not message.fuzzy, f"fuzzy: {key!r}"
        have[key] = strings
    assert wanted <= set(have), f"missing in nb: {sorted(wanted - set(have))}"


def test_placeholders_survive_translation() -> None:
    po = ROOT / "src/portvakt/web/locales/nb/LC_MESSAGES/messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale="nb")
    for message in catalog:
        if not message.id:
            continue
        source = str(message.id if isinstance(message.id, str) else message.id[-1])
        strings = [
            str(s)
            for s in (message.string if isinstance(message.string, tuple) else (message.string,))
        ]
        for placeholder in ("%(num)s", "%(name)s", "%(minutes)s"):
            if placeholder in source:
                assert all(placeholder in s for s in strings), (source, strings)


def test_catalogs_load_and_translate() -> None:
    catalogs = Catalogs()
    assert catalogs.get("nb").gettext("Sign in") == "Logg på"
    assert catalogs.get("en").gettext("Sign in") == "Sign in"
    assert set(LANGUAGES) == {"en", "nb"}


def test_language_choice_order() -> None:
    assert pick_language("nb", "en-GB,en;q=0.9", "en") == "nb"
    assert pick_language(None, "nn-NO,en;q=0.5", "en") == "nb"
    assert pick_language(None, "de-DE,en;q=0.8,nb;q=0.9", "en") == "nb"
    assert pick_language(None, "de-DE", "en") == "en"
    assert pick_language("xx", "garbage;;q=x,,", "nb") == "nb"
