"""FastAPI factory: middleware, error pages, routers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from portvakt import __version__
from portvakt.app import Runtime
from portvakt.core.integrations import KeyCache
from portvakt.core.maintenance import prune
from portvakt.domain import Door
from portvakt.errors import Conflict, Denied, Invalid, NotFound, PortvaktError, Throttled
from portvakt.web import cookies
from portvakt.web.api import app as app_api
from portvakt.web.api import fast
from portvakt.web.api import validate as validate_api
from portvakt.web.deps import CsrfFailed, Restricted, SignInRequired, renderer
from portvakt.web.i18n import LANGUAGES, Catalogs
from portvakt.web.messages import error_text
from portvakt.web.nul import NulMiddleware
from portvakt.web.oidc import endpoints as oidc_endpoints
from portvakt.web.oidc import pages as oidc_pages
from portvakt.web.pages import (
    account,
    activating,
    adding,
    answer,
    challenge,
    passwordless,
    signin,
    tokens,
)
from portvakt.web.pages.account import safe_next
from portvakt.web.render import Renderer
from portvakt.web.security import SecurityMiddleware, is_machine_path

log = logging.getLogger("portvakt.web")
STATIC = Path(__file__).parent / "static"


PRUNE_EVERY_SECONDS = 600
ADD_METHOD = "/account/methods/add"  # where a session that may only add a method is sent


class PortvaktApp(FastAPI):
    """FastAPI, with the validate API's code checks taken ahead of the stack (``web.api.fast``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if fast.claims(scope):
            await fast.serve(self, scope, receive, send, super().__call__)
        else:
            await super().__call__(scope, receive, send)


def create_app(runtime: Runtime) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        await runtime.core.notifier.start()
        task = asyncio.create_task(_prune_forever(runtime, stop))
        try:
            yield
        finally:
            stop.set()
            await task  # lets a prune in flight finish before the engine goes away
            for sender in runtime.core.senders.values():  # a queue sends what it holds first
                close = getattr(sender, "close", None)
                if callable(close):
                    await asyncio.to_thread(close)
            await runtime.core.notifier.stop()

    app = PortvaktApp(
        title="Portvakt",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.renderer = Renderer(runtime, Catalogs())
    app.state.validate_keys = KeyCache()
    app.add_middleware(NulMiddleware)  # inside SecurityMiddleware: bodies are bounded first
    app.add_middleware(SecurityMiddleware)
    for kind, folder in runtime.core.registry.static_folders().items():
        app.mount(f"/static/methods/{kind}", StaticFiles(directory=folder))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Routes are tried in this order: the busiest machine endpoints first (bench/README.md)
    challenge_kinds = [
        kind
        for kind in runtime.core.registry.kinds()
        if runtime.core.registry.get(kind).capabilities.challenge
        and Door.API.value in runtime.core.registry.get(kind).capabilities.doors
    ]
    default_openapi = app.openapi
    app.openapi = lambda: validate_api.document_methods(default_openapi(), challenge_kinds)  # type: ignore[method-assign]
    app.include_router(validate_api.router)
    app.include_router(oidc_endpoints.router)
    app.include_router(app_api.router)
    app.include_router(signin.router, include_in_schema=False)
    app.include_router(activating.router, include_in_schema=False)
    app.include_router(passwordless.router, include_in_schema=False)
    app.include_router(account.router, include_in_schema=False)
    app.include_router(adding.router, include_in_schema=False)
    app.include_router(tokens.router, include_in_schema=False)
    app.include_router(challenge.router, include_in_schema=False)
    app.include_router(answer.router, include_in_schema=False)
    app.include_router(oidc_pages.router)
    _add_small_routes(app)
    _add_error_handlers(app)
    return app


async def _prune_forever(runtime: Runtime, stop: asyncio.Event) -> None:
    """Every ``PRUNE_EVERY_SECONDS`` delete expired rows; failures are logged, never fatal."""
    while True:
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=PRUNE_EVERY_SECONDS)
        if stop.is_set():
            return
        try:
            counts = await run_in_threadpool(prune, runtime.core, runtime.context(Door.CLI))
            log.debug("pruned %s", counts)
        except Exception:
            log.exception("pruning expired rows failed")


def _add_small_routes(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def root(request: Request) -> Response:
        signed_in = cookies.read(request, cookies.SESSION) is not None
        return RedirectResponse("/account" if signed_in else "/signin", status_code=303)

    @app.get("/lang/{code}", include_in_schema=False)
    def set_language(request: Request, code: str) -> Response:
        response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
        if code in LANGUAGES:
            cookies.write(request, response, cookies.LANG, code, max_age=365 * 86400)
        return response

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}


def _wants_json(request: Request) -> bool:
    return is_machine_path(request.url.path)


def _error(request: Request, status: int, code: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": code, "message": error_text(code)}, status_code=status)
    return renderer(request).page(request, "error.html", status=status, error=error_text(code))


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def need_signin(request: Request, exc: SignInRequired) -> Response:
        response = RedirectResponse("/signin", status_code=303)
        cookies.clear(request, response, cookies.SESSION)
        return response

    @app.exception_handler(Restricted)
    async def restricted(request: Request, exc: Restricted) -> Response:
        if request.method in {"GET", "HEAD"}:
            return RedirectResponse(ADD_METHOD, status_code=303)
        return _error(request, 403, "finish_adding_first")

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return _error(request, 403, "csrf")

    @app.exception_handler(RequestValidationError)
    async def invalid_form(request: Request, exc: RequestValidationError) -> Response:
        return _error(request, 400, "invalid_request" if _wants_json(request) else "invalid_form")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status_code, "invalid_form"
        )
        answer = _error(request, exc.status_code if exc.status_code < 500 else 400, code)
        if exc.headers and "allow" in {k.lower() for k in exc.headers}:
            answer.headers.update(exc.headers)  # a 405 must say what is allowed (RFC 9110)
        return answer

    @app.exception_handler(PortvaktError)
    async def core_error(request: Request, exc: PortvaktError) -> Response:
        status = {Invalid: 400, Denied: 403, NotFound: 404, Conflict: 409, Throttled: 429}
        code = next((s for cls, s in status.items() if isinstance(exc, cls)), 400)
        return _error(request, code, exc.code)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(request, 500, "server_error")
