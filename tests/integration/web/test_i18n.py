"""The pages follow Accept-Language and can be switched on every page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portvakt.domain import UserRef
from tests.integration.web import flows


def test_pages_follow_accept_language(client: TestClient) -> None:
    page = client.get("/signin", headers={"accept-language": "nb-NO,nb;q=0.9,en;q=0.5"})
    assert '<html lang="nb">' in page.text and "Logg på" in page.text and "Brukernavn" in page.text


def test_every_page_offers_the_switch_and_it_sticks(client: TestClient, alice: UserRef) -> None:
    page = client.get("/signin")
    assert 'href="/lang/nb?next=/signin"' in page.text
    switched = client.get("/lang/nb?next=/signin")
    assert switched.url.path == "/signin" and "Logg på" in switched.text
    wrong = flows.post_password(client, "alice", "wrong password")
    assert "Brukernavnet eller passordet er feil." in wrong.text
    back = client.get("/lang/en?next=/signin")
    assert "Sign in" in back.text


def test_norwegian_activation_page(client: TestClient, alice: UserRef) -> None:
    client.get("/lang/nb?next=/signin")
    page = flows.post_password(client)
    assert "Konfigurer totrinnsbekreftelse" in page.text
