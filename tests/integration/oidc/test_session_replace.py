"""A new sign-in in a browser that already holds a session (``core.sessions.replace``): apps'
grants move to the new session only when the same person signed in again; another person's
grants from that browser end with their session, as a sign-out would end them (SES-05)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from portvakt.app import Runtime
from portvakt.crypto.hashing import sha256_hex
from portvakt.store.models import AuditEvent, OidcGrant, WebSession
from tests.conftest import FakeClock
from tests.integration.oidc import helpers, oauth
from tests.integration.oidc.oauth import App
from tests.integration.web import flows

# a faster database, and alice's authenticator app set up through the core (helpers.py)
db_url = helpers.db_url
runtime = helpers.runtime
secret = helpers.secret


def live(client: TestClient, app: App, tokens: dict[str, Any]) -> bool:
    """Whether an app still holds working tokens: UserInfo answers, the refresh token works."""
    info = helpers.userinfo(client, tokens["access_token"]).status_code
    refreshed = helpers.refresh(client, app, tokens["refresh_token"])
    assert (info == 200) == (refreshed.status_code == 200), (info, refreshed.text)
    if refreshed.status_code == 200:
        tokens.update(refreshed.json())
    return info == 200


def sign_in_as_alice(client: TestClient, clock: FakeClock, secret: str) -> None:
    assert oauth.sign_in(client, clock, secret).request.url.path == "/account"


def test_grants_of_another_person_end_when_someone_else_signs_in(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, secret: str
) -> None:
    bob = helpers.add_person(runtime, "bob")
    bobs_session = helpers.open_session(runtime, client, bob)
    bobs = helpers.tokens_for(client, app)
    assert live(client, app, bobs)

    sign_in_as_alice(client, clock, secret)

    assert not live(client, app, bobs)
    with runtime.core.store.read() as s:
        assert s.get(WebSession, bobs_session) is None
        grants = s.scalars(select(OidcGrant).where(OidcGrant.user_id == bob.id)).all()
        assert grants and all(g.revoked_at is not None for g in grants)
        assert all(
            g.session_id != sha256_hex(flows.cookie(client, helpers.SESSION) or "") for g in grants
        )
        ended = s.scalars(
            select(AuditEvent).where(
                AuditEvent.user_id == bob.id, AuditEvent.event == "session.signout"
            )
        ).one()
    assert ended.details == {"reason": "another_signin", "grants_revoked": len(grants)}
    # alice's own sign-out later does not touch anything of bob's, and nothing is left over
    flows.sign_out(client)


def test_grants_of_an_expired_session_of_another_person_end_too(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, secret: str
) -> None:
    """bob's session timed out (its row is gone) but the browser still holds its cookie, and
    his app's refresh token still works: alice's sign-in ends that too."""
    bob = helpers.add_person(runtime, "bob")
    helpers.open_session(runtime, client, bob)
    bobs = helpers.tokens_for(client, app)
    clock.advance(minutes=61)
    assert client.get("/account", follow_redirects=False).status_code == 303  # timed out

    sign_in_as_alice(client, clock, secret)

    helpers.token_error(helpers.refresh(client, app, bobs["refresh_token"]), "invalid_grant")
    with runtime.core.store.read() as s:
        ended = s.scalars(select(AuditEvent).where(AuditEvent.user_id == bob.id)).all()
    assert [(e.event, e.details) for e in ended if e.event == "session.signout"] == [
        ("session.signout", {"reason": "another_signin", "grants_revoked": 1})
    ]


def test_grants_move_to_the_new_session_when_the_same_person_signs_in_again(
    runtime: Runtime, client: TestClient, clock: FakeClock, app: App, secret: str
) -> None:
    sign_in_as_alice(client, clock, secret)
    first = helpers.tokens_for(client, app)
    clock.advance(seconds=30)

    sign_in_as_alice(client, clock, secret)  # again, in the same browser

    assert live(client, app, first)
    with runtime.core.store.read() as s:
        events = s.scalars(select(AuditEvent.event)).all()
    assert "session.signout" not in events
    flows.sign_out(client)  # signing out the new session ends the moved grant
    assert not live(client, app, first)
