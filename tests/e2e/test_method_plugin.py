"""A sign-in method from outside Portvakt, installed through the ``portvakt.methods`` entry
point (tests/plugins/portvakt_testmethod: one folder and its dist-info, nothing else), is
offered at first activation, enrolled, and used to sign in, on a real ``portvakt serve``."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.conftest import csrf_of
from tests.e2e.conftest import Person, _add_user, _server_env, serving

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"
# Imported from its folder without leaving it on sys.path: otherwise every runtime the suite
# builds later would find its entry point and offer the kind.
sys.path.insert(0, str(PLUGINS))
try:
    from portvakt_testmethod.method import code_at
finally:
    sys.path.remove(str(PLUGINS))

ANNA = Person("anna", "Anna Plugin", "Anna sitt lange passord 2026")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("plugin-server")
    env = _server_env(root / "data")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGINS), env.get("PYTHONPATH")]))
    env["PORTVAKT_METHODS__LETTERCODE__PERIOD"] = "60"
    _add_user(ANNA, env, root)
    with serving(root / "data", env, cwd=root) as live:
        yield live.base_url


def _post(client: httpx2.Client, path: str, **data: str) -> httpx2.Response:
    token = csrf_of(client.get("/signin").text)
    return client.post(path, data={**data, "csrf_token": token})


def _code(secret: bytes, offset: int = 0) -> str:
    return str(code_at(secret, int(time.time()) // 60 + offset))  # the server's period: 60 s


def test_a_plugin_method_is_enrolled_and_used_end_to_end(server: str) -> None:
    with httpx2.Client(base_url=server, follow_redirects=True, timeout=30) as client:
        page = _post(client, "/signin", username=ANNA.username, password=ANNA.password)
        assert page.url.path == "/signin/activate"
        assert 'name="kind" value="lettercode"' in page.text and "Letter code" in page.text
        page = _post(client, "/signin/activate/begin", kind="lettercode")
        assert page.url.path == "/signin/activate/confirm", page.text
        found = re.search(r'id="letter-secret">([0-9a-f]+)<', page.text)
        assert found is not None, page.text
        secret = bytes.fromhex(found.group(1))
        wrong = _post(client, "/signin/activate/confirm", code="AAAAAAAA")
        assert wrong.status_code == 401
        done = _post(client, "/signin/activate/confirm", code=_code(secret).lower())
        assert done.url.path == "/account", done.text
        assert "Letter code" in done.text
        _post(client, "/signout")

        page = _post(client, "/signin", username=ANNA.username, password=ANNA.password)
        assert page.url.path == "/signin/factor" and 'id="letters-lettercode"' in page.text
        refused = _post(client, "/signin/factor", kind="lettercode", code="ZZZZZZZZ")
        assert refused.status_code == 401
        digits = _post(client, "/signin/factor", kind="lettercode", code="12345678")
        assert digits.status_code == 400  # not the method's shape: refused before any check
        done = _post(client, "/signin/factor", kind="lettercode", code=_code(secret, 1))
        assert done.url.path == "/account", done.text
