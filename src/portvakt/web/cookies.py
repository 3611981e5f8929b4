"""Cookie names and attributes. Over https the session cookies use the ``__Host-`` prefix and
``Secure`` (SES-03); on plain http (a laptop, loopback tests) the prefix is dropped."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

SESSION = "pv_session"
SIGNIN = "pv_signin"
DEVICE = "pv_device"
LANG = "pv_lang"
AUTHZ = "pv_authz"  # an app's authorization request waiting for this browser's sign-in


def _name(request: Request, base: str) -> str:
    return f"__Host-{base}" if request.url.scheme == "https" else base


def read(request: Request, base: str) -> str | None:
    return request.cookies.get(_name(request, base))


def write(
    request: Request,
    response: Response,
    base: str,
    value: str,
    *,
    max_age: int | None = None,
    http_only: bool = True,
) -> None:
    response.set_cookie(
        _name(request, base),
        value,
        max_age=max_age,
        path="/",
        secure=request.url.scheme == "https",
        httponly=http_only,
        samesite="lax",
    )


def clear(request: Request, response: Response, base: str) -> None:
    response.delete_cookie(
        _name(request, base),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
