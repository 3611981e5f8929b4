"""``ui_locales`` at the authorization endpoint (OpenID Connect Core 3.1.2.1): the first listed
language Portvakt ships decides the language of the sign-in pages shown for that request,
unless the person chose a language (the ``pv_lang`` cookie set by ``/lang/{code}``)."""

from __future__ import annotations

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from portvakt.core.oidc.checks import ui_language
from portvakt.domain import UserRef
from portvakt.web import cookies
from tests.conftest import FakeClock, csrf_of
from tests.integration.oidc import helpers, oauth
from tests.integration.oidc.oauth import App
from tests.integration.web import flows

# a faster database, and alice's authenticator app set up through the core (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime
secret = helpers.secret

NORWEGIAN = '<html lang="nb">'
ENGLISH = '<html lang="en">'


def page_for(client: TestClient, app: App, **extra: str) -> httpx.Response:
    page = oauth.authorize(client, app, **extra)
    assert page.status_code == 200 and page.request.url.path == "/signin", page.text[:300]
    return page


def test_sign_in_page_is_norwegian_for_ui_locales_nb_en(
    client: TestClient, app: App, alice: UserRef
) -> None:
    page = page_for(client, app, ui_locales="nb en")
    assert NORWEGIAN in page.text
    assert "Brukernavn" in page.text and "Logg på" in page.text
    assert "Username" not in page.text
    assert "for å fortsette til Staff portal" in page.text


def test_sign_in_page_is_english_for_ui_locales_fr_en_whatever_the_browser_says(
    client: TestClient, app: App, alice: UserRef
) -> None:
    client.headers["accept-language"] = "nb-NO,nb;q=0.9"
    page = page_for(client, app, ui_locales="fr en")
    assert ENGLISH in page.text and "Username" in page.text
    assert "Brukernavn" not in page.text


def test_without_a_shipped_language_the_browser_decides(
    client: TestClient, app: App, alice: UserRef
) -> None:
    client.headers["accept-language"] = "nb-NO,nb;q=0.9"
    assert NORWEGIAN in page_for(client, app, ui_locales="fr de-CH").text
    client.cookies.clear()
    client.headers["accept-language"] = "en"
    assert ENGLISH in page_for(client, app).text


def test_the_persons_own_choice_wins_over_ui_locales(
    client: TestClient, app: App, alice: UserRef
) -> None:
    client.get("/lang/en", follow_redirects=False)
    assert client.cookies.get(cookies.LANG) == "en"
    assert ENGLISH in page_for(client, app, ui_locales="nb").text
    # choosing on the page itself, while the request waits
    chosen = client.get("/lang/nb?next=/signin")
    assert chosen.request.url.path == "/signin" and NORWEGIAN in chosen.text
    client.get("/lang/en", follow_redirects=False)
    assert ENGLISH in client.get("/signin").text


def test_every_sign_in_page_of_the_request_keeps_the_language(
    client: TestClient, clock: FakeClock, app: App, secret: str
) -> None:
    page_for(client, app, ui_locales="nb-NO")
    wrong = flows.post_password(client, password="wrong")
    assert wrong.status_code == 401 and NORWEGIAN in wrong.text
    factor = flows.post_password(client)
    assert factor.url.path == "/signin/factor" and NORWEGIAN in factor.text
    clock.advance(seconds=30)
    done = client.post(
        "/signin/factor",
        data={
            "code": flows.code_at(secret, clock),
            "kind": "totp",
            "csrf_token": csrf_of(factor.text),
        },
        follow_redirects=False,
    )
    assert "code" in oauth.at_app(oauth.follow(client, done), app)
    # the request is answered: other pages follow the browser again
    assert ENGLISH in client.get("/signin").text


def test_norwegian_tags_mean_bokmal_and_nynorsk_is_passed_over(
    client: TestClient, app: App, alice: UserRef
) -> None:
    assert NORWEGIAN in page_for(client, app, ui_locales="no").text
    client.cookies.clear()
    assert ENGLISH in page_for(client, app, ui_locales="nn en").text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("nb en", "nb"),
        ("fr en", "en"),
        ("nb-NO", "nb"),
        ("NB-no", "nb"),
        ("no", "nb"),
        ("no-NO en", "nb"),
        ("nn", None),
        ("nn-NO en", "en"),
        ("nn nb", "nb"),
        ("en-GB nb", "en"),
        ("sv da", None),
        ("", None),
        (None, None),
        ("  ", None),
        ("x-nb", None),
        ("nbx", None),
    ],
)
def test_ui_language_picks_the_first_shipped_language(
    value: str | None, expected: str | None
) -> None:
    assert ui_language(value) == expected
