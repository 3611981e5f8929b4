"""Issue 10 §4, one storage idiom: the core owns transactions and rules, ``store.repos`` own
every SQL statement. So a core module imports nothing of SQLAlchemy but ``Session`` (for the
type of the transaction it hands to repo functions); the ORM models are kept out by the
import-linter contract "The core reaches the database through store.repos" (pyproject)."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "src" / "portvakt" / "core"
ALLOWED = {("sqlalchemy.orm", "Session")}


def _sqlalchemy_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "sqlalchemy"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            found += [
                f"{node.module}.{a.name}"
                for a in node.names
                if (node.module, a.name) not in ALLOWED
            ]
    return found


def test_core_modules_import_only_session_from_sqlalchemy() -> None:
    offenders = {
        str(path.relative_to(CORE)): names
        for path in sorted(CORE.rglob("*.py"))
        if (names := _sqlalchemy_imports(path))
    }
    assert offenders == {}
