"""The Staff portal's pages. Authlib does the OpenID Connect work: discovery, the authorization
code flow with PKCE (S256), the token request with client authentication, and the ID token's
checks (signature against the published JWKS, iss, aud, exp, iat and nonce). This module adds
what Authlib leaves to the app: the ``iss`` check on the response (RFC 9207), the issuer check
on the discovery document, the userinfo ``sub`` check, an optional acr demand, error pages and
RP-initiated logout."""

from __future__ import annotations

import base64
import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
from authlib.integrations.starlette_client import OAuth, OAuthError
from joserfc.errors import JoseError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from .config import SCOPES, Settings
from .explain import claim_rows, describe_acr, describe_amr, describe_auth_time

try:  # Authlib 1.9 talks HTTP through httpx2 when it is installed, through httpx otherwise
    import httpx2

    HTTP_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, httpx2.HTTPError, ValueError)
except ImportError:
    HTTP_ERRORS = (httpx.HTTPError, ValueError)  # ValueError: a body that is not JSON
# RuntimeError: Portvakt's discovery document names no end_session_endpoint
LOGOUT_ERRORS: tuple[type[Exception], ...] = (*HTTP_ERRORS, RuntimeError)

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
PROVIDER = "portvakt"
SESSION_HOURS = 8


class SignInFailed(Exception):
    """Sign-in could not complete: an OAuth 2.0 error code and words for the person."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


class Portal:
    def __init__(self, settings: Settings, client: Any) -> None:
        self.settings = settings
        self.client = client  # Authlib's StarletteOAuth2App (Authlib ships no type hints)

    async def home(self, request: Request) -> Response:
        notice = await self._logout_notice(request)
        claims = request.session.get("claims")
        if not isinstance(claims, dict):
            return self._page(request, "home.html", notice=notice)
        userinfo = request.session.get("userinfo", {})
        return self._page(
            request,
            "home.html",
            notice=notice,
            name=userinfo.get("name") or claims.get("name") or claims["sub"],
            username=userinfo.get("preferred_username") or claims.get("preferred_username"),
            how=[
                describe_acr(claims.get("acr")),
                describe_amr(claims.get("amr")),
                describe_auth_time(claims.get("auth_time"), now=time.time()),
            ],
            id_token_rows=claim_rows(claims),
            userinfo_rows=claim_rows(userinfo),
            verified_with=request.session.get("verified_with", {}),
        )

    async def login(self, request: Request) -> Response:
        await self._metadata()
        extra = {"acr_values": self.settings.acr_values} if self.settings.acr_values else {}
        response: Response = await self.client.authorize_redirect(
            request, self.settings.callback_url, **extra
        )
        return response

    async def callback(self, request: Request) -> Response:
        query = request.query_params
        if "error" in query:  # RFC 6749 §4.1.2.1: the provider said no
            raise SignInFailed(query["error"], query.get("error_description", ""))
        metadata = await self._metadata()
        _check_response_issuer(query.get("iss"), metadata)
        token, userinfo = await self._exchange(request)
        claims = dict(token["userinfo"])  # the ID token's claims, verified by Authlib
        if userinfo.get("sub") != claims["sub"]:  # OpenID Connect Core §5.3.2
            raise SignInFailed("invalid_userinfo", "userinfo is about someone else (sub differs)")
        self._check_acr(claims.get("acr"))
        header = _jwt_header(token["id_token"])
        request.session.clear()
        request.session.update(
            id_token=token["id_token"],
            claims=claims,
            userinfo=userinfo,
            verified_with={
                "alg": header.get("alg"),
                "kid": header.get("kid"),
                "jwks_uri": metadata.get("jwks_uri"),
            },
        )
        return RedirectResponse("/", status_code=303)

    async def logout(self, request: Request) -> Response:
        """Forget the person here, then ask Portvakt to end its session too (OpenID Connect
        RP-Initiated Logout 1.0 §2); Portvakt sends the browser back to the home page."""
        id_token = request.session.get("id_token")
        request.session.clear()
        if not isinstance(id_token, str):
            return RedirectResponse("/", status_code=303)
        try:
            response: Response = await self.client.logout_redirect(
                request,
                post_logout_redirect_uri=self.settings.home_url,
                id_token_hint=id_token,
                client_id=self.settings.client_id,
            )
        except LOGOUT_ERRORS:
            return self._page(
                request,
                "home.html",
                notice="You are signed out of the portal, but Portvakt could not be reached: "
                "your Portvakt session may still be open.",
            )
        return response

    async def failed(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInFailed)
        return self._page(
            request,
            "error.html",
            status=exc.status,
            error=exc.error,
            description=exc.description,
        )

    async def _exchange(self, request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
        """The token request (RFC 6749 §4.1.3, with the PKCE verifier) and userinfo."""
        try:
            token = dict(await self.client.authorize_access_token(request))
            if "userinfo" not in token:
                raise SignInFailed("invalid_token_response", "Portvakt returned no ID token")
            userinfo = dict(await self.client.userinfo(token=token))
        except OAuthError as exc:
            raise SignInFailed(exc.error, _oauth_words(exc)) from exc
        except JoseError as exc:
            raise SignInFailed("invalid_id_token", f"the ID token failed a check: {exc}") from exc
        except HTTP_ERRORS as exc:
            raise SignInFailed("provider_unreachable", f"Portvakt: {exc}", status=502) from exc
        return token, userinfo

    async def _metadata(self) -> dict[str, Any]:
        """Portvakt's discovery document, fetched once; its issuer must be the one we were
        configured with (OpenID Connect Discovery 1.0 §4.3)."""
        url = self.settings.discovery_url
        try:
            metadata = dict(await self.client.load_server_metadata())
        except HTTP_ERRORS as exc:
            raise SignInFailed("provider_unreachable", f"{url}: {exc}", status=502) from exc
        if metadata.get("issuer") != self.settings.issuer:
            raise SignInFailed(
                "wrong_issuer",
                f"{url} names issuer {metadata.get('issuer')!r}, not {self.settings.issuer!r}",
                status=502,
            )
        return metadata

    def _check_acr(self, acr: object) -> None:
        """An acr_values request is only a wish (OpenID Connect Core §3.1.2.1): check it."""
        wanted = self.settings.acr_values
        if wanted and acr not in wanted.split():
            raise SignInFailed(
                "insufficient_acr",
                f"this portal needs a sign-in at level {wanted}, and Portvakt reported {acr}",
                status=403,
            )

    async def _logout_notice(self, request: Request) -> str | None:
        """Back from Portvakt's logout with our own state: say so."""
        if "state" not in request.query_params:
            return None
        try:
            await self.client.validate_logout_response(request)
        except OAuthError:
            return None
        return "You are signed out of the Staff portal and of Portvakt."

    def _page(
        self, request: Request, template: str, /, *, status: int = 200, **context: Any
    ) -> Response:
        return TEMPLATES.TemplateResponse(request, template, context, status_code=status)


def _check_response_issuer(iss: str | None, metadata: dict[str, Any]) -> None:
    """RFC 9207 §2.4: the ``iss`` in the answer must be our provider's (mix-up defence)."""
    issuer = metadata["issuer"]
    if iss is None and metadata.get("authorization_response_iss_parameter_supported"):
        raise SignInFailed("invalid_response", "the answer has no iss, and Portvakt sends one")
    if iss is not None and iss != issuer:
        raise SignInFailed("invalid_response", f"the answer came from {iss}, not from {issuer}")


def _jwt_header(jwt: str) -> dict[str, Any]:
    """The JOSE header of an already verified JWT, to show which key signed it."""
    part = jwt.split(".", 1)[0]
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return header


def _oauth_words(exc: Exception) -> str:
    if isinstance(exc, OAuthError) and exc.error == "mismatching_state":
        return (
            "this answer does not belong to a sign-in started in this browser, or it was "
            "already used. Start again."
        )
    return str(getattr(exc, "description", "") or exc)


def create_app(settings: Settings) -> Starlette:
    oauth = OAuth()
    oauth.register(
        PROVIDER,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=settings.discovery_url,
        client_kwargs={
            "scope": SCOPES,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": (
                "client_secret_basic" if settings.client_secret else "none"
            ),
        },
    )
    portal = Portal(settings, oauth.create_client(PROVIDER))
    # A random key per start: restarting the portal signs everyone out of it, which suits an
    # example. A real app keeps its key in its configuration.
    session = Middleware(
        SessionMiddleware,
        secret_key=secrets.token_urlsafe(32),
        session_cookie="staff_portal_session",  # cookies ignore ports: keep clear of pv_*
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=settings.https,
    )
    return Starlette(
        routes=[
            Route("/", portal.home),
            Route("/login", portal.login),
            Route("/callback", portal.callback),
            Route("/logout", portal.logout, methods=["POST"]),
        ],
        middleware=[session],
        exception_handlers={SignInFailed: portal.failed},
    )
