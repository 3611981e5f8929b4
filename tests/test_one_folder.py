"""A sign-in method is one folder (docs/extend.md): outside ``portvakt.methods`` only the
interface (``methods.base``) and the registry are imported, and no shared code or template
names a built-in kind."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from portvakt.methods.registry import BUILT_IN

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "portvakt"
KINDS = {cls.kind for cls in BUILT_IN}
INTERFACE = {"portvakt.methods", "portvakt.methods.base", "portvakt.methods.registry"}
SHARED = ["core", "web", "policy", "cli", "directory", "channels", "store"]
# A literal that is data, not a branch on a kind, each with its reason.
ALLOWED = {
    # the signing key's stored purpose: renaming it would make a new key and unpin every app
    ("core/signing.py", "push"),
    # the import file's totp_secret column seeds TOTP credentials (docs/operators/import.md)
    ("core/userimport/bulk.py", "totp"),
    ("cli/userimport.py", "totp"),
    # migration 0008 copies the old push_challenge rows into the generic table
    ("store/migrations/versions/0008_challenge.py", "push"),
}

pytestmark = pytest.mark.lint


def _python(folder: str) -> list[Path]:
    return sorted((SRC / folder).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_shared_code_imports_only_the_method_interface() -> None:
    wrong = [
        f"{path.relative_to(SRC)}: {name}"
        for folder in SHARED
        for path in _python(folder)
        for name in _imports(path)
        if name.startswith("portvakt.methods.")
        and not any(
            name == ok or name.startswith(f"{ok}.") for ok in INTERFACE - {"portvakt.methods"}
        )
        and name not in INTERFACE
    ]
    assert wrong == []


def test_shared_code_names_no_kind() -> None:
    wrong = []
    for folder in SHARED:
        for path in _python(folder):
            relative = str(path.relative_to(SRC))
            for node in ast.walk(ast.parse(path.read_text(), relative)):
                if not isinstance(node, ast.Constant) or node.value not in KINDS:
                    continue
                if (relative, node.value) not in ALLOWED:
                    wrong.append(f"{relative}:{node.lineno}: {node.value!r}")
    assert wrong == []


def test_shared_templates_name_no_kind() -> None:
    names = "|".join(sorted(KINDS))
    pattern = re.compile(rf"""['"]({names})['"]""")
    wrong = [
        f"{path.relative_to(SRC)}: {match.group(0)}"
        for path in sorted((SRC / "web" / "templates").rglob("*.html"))
        for match in pattern.finditer(path.read_text())
    ]
    assert wrong == []


def test_every_built_in_kind_ships_its_templates() -> None:
    for kind in KINDS:
        folder = SRC / "methods" / kind / "templates"
        assert (folder / "name.html").is_file(), kind
        assert (folder / "enroll.html").is_file(), kind
        assert (folder / "verify.html").is_file(), kind
