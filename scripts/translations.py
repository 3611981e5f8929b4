"""Extract every translatable string and merge it into the catalogues.

    python scripts/translations.py          # refresh src/portvakt/web/locales/*/messages.po

New strings arrive with an empty translation; ``tests/unit/test_translations.py`` fails until
every language has all of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "portvakt"
LOCALES = SOURCE / "web" / "locales"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
METHODS = [
    ("**.py", "python"),
    ("web/templates/**.html", "jinja2"),
    ("methods/**.html", "jinja2"),  # each method's own templates
]
OPTIONS = {
    "web/templates/**.html": {"extensions": "jinja2.ext.i18n"},
    "methods/**.html": {"extensions": "jinja2.ext.i18n"},
}


def extract() -> Catalog:
    template = Catalog(project="Portvakt")
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(SOURCE),
        METHODS,
        keywords=KEYWORDS,
        options_map=OPTIONS,  # type: ignore[arg-type]
    ):
        template.add(message)
    return template


def update(lang: str, template: Catalog) -> Path:
    path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
    else:
        catalog = Catalog(locale=lang, project="Portvakt")
    catalog.update(template, no_fuzzy_matching=True)
    with path.open("wb") as handle:
        write_po(
            handle,
            catalog,
            omit_header=False,
            sort_output=True,
            width=100,
            no_location=True,
            ignore_obsolete=True,
        )
    return path


if __name__ == "__main__":
    extracted = extract()
    for language in sys.argv[1:] or ["nb"]:
        print(update(language, extracted))
