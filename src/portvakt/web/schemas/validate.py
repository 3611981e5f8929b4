"""Request and response bodies of the validate API (docs/api/validate.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from portvakt.core.validate import MAX_CLIENT_IP, client_address
from portvakt.errors import Invalid

MAX_USERNAME = 256
MAX_CODE = 256  # a CodeShape's ceiling: each kind's shape bounds its own codes (core.factor)
MAX_TX = 64
NO_NUL = r"^[^\x00]*$"  # a NUL character is refused by every door (web/nul.py)
CLIENT_IP_ERROR = "client_ip must be an IPv4 or IPv6 address (at most 45 characters)."


class ValidateRequest(BaseModel):
    """``{"username": …, "code": …}`` checks a typed code; ``{"username": …, "method": "push"}``
    sends a challenge (a push, an SMS code); ``{"transaction_id": …, "code": …}`` answers a
    challenge that takes a typed code (the SMS code the person received). ``client_ip`` is
    optional with a username."""

    # "Exactly one of code and method" in the document too (null counts as absent): a body
    # with neither or both fits no branch, or both, of the oneOf, and the API answers 400.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["username", "code"],
                    "properties": {
                        "username": {"type": "string"},
                        "code": {"type": "string"},
                        "transaction_id": {"type": "null"},
                    },
                },
                {
                    "required": ["username", "method"],
                    "properties": {
                        "username": {"type": "string"},
                        "method": {"type": "string"},
                        "transaction_id": {"type": "null"},
                    },
                },
                {
                    "required": ["transaction_id", "code"],
                    "properties": {
                        "transaction_id": {"type": "string"},
                        "code": {"type": "string"},
                        "username": {"type": "null"},
                        "method": {"type": "null"},
                        "client_ip": {"type": "null"},
                    },
                },
            ]
        },
    )

    username: str | None = Field(
        default=None, min_length=1, max_length=MAX_USERNAME, pattern=NO_NUL
    )
    transaction_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TX,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="With `code`: the transaction of a challenge sent with `method` (an SMS "
        "code), answered with the code the person typed.",
    )
    code: str | None = Field(default=None, min_length=1, max_length=MAX_CODE, pattern=NO_NUL)
    method: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]{1,23}$",
        description="A method kind that sends a challenge to the person (`push`).",
    )
    client_ip: str | None = Field(
        default=None,
        max_length=MAX_CLIENT_IP,
        description="The end user's IPv4 or IPv6 address. Counted and recorded only when the "
        "integration is trusted for it (`portvakt integration add NAME --trust-client-ip`); "
        "otherwise ignored.",
        json_schema_extra={  # the forms it accepts, as JSON Schema formats
            "anyOf": [
                {"type": "string", "format": "ipv4"},
                {"type": "string", "format": "ipv6", "maxLength": MAX_CLIENT_IP},
                {"type": "null"},
            ]
        },
    )

    @field_validator("code")
    @classmethod
    def _code_length(cls, value: str | None, info: ValidationInfo) -> str | None:
        """No door-level rule but the longest code a registered kind takes (``max_code`` in
        the validation context, from the registry); each kind's shape decides the rest."""
        limit = (info.context or {}).get("max_code", MAX_CODE)
        if value is not None and len(value) > limit:
            raise ValueError("longer than any method's code")
        return value

    @field_validator("client_ip")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return client_address(value)
        except Invalid as exc:
            raise ValueError(CLIENT_IP_ERROR) from exc

    @model_validator(mode="after")
    def _one_of(self) -> ValidateRequest:
        if (self.code is None) == (self.method is None):
            raise ValueError("give either code or method")
        if (self.username is None) == (self.transaction_id is None):
            raise ValueError("give either username or transaction_id")
        if self.transaction_id is not None and (self.method or self.client_ip):
            raise ValueError("a transaction_id comes with a code only")
        return self


class ValidateResponse(BaseModel):
    status: Literal["accept", "reject", "pending", "locked"]
    transaction_id: str | None = Field(
        default=None, description="With `pending`: read the answer at /api/v1/validate/{id}."
    )
    number: str | None = Field(
        default=None,
        description="With `pending`, when number matching is on: show it to the person, who "
        "enters it in the app.",
    )
    retry_after: int | None = Field(default=None, description="With `locked`: seconds to wait.")


class ApiError(BaseModel):
    error: str
    message: str
