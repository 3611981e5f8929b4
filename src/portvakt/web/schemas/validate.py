"""Request and response bodies of the validate API (docs/api/validate.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_USERNAME = 256
MAX_CODE = 32


class ValidateRequest(BaseModel):
    """``{"username": …, "code": …}`` checks a typed code; ``{"username": …, "method": "push"}``
    sends a push. Exactly one of ``code`` and ``method``."""

    # "Exactly one of code and method" in the document too (null counts as absent): a body
    # with neither or both fits no branch, or both, of the oneOf, and the API answers 400.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["code"], "properties": {"code": {"type": "string"}}},
                {"required": ["method"], "properties": {"method": {"const": "push"}}},
            ]
        },
    )

    username: str = Field(min_length=1, max_length=MAX_USERNAME)
    code: str | None = Field(default=None, min_length=1, max_length=MAX_CODE)
    method: Literal["push"] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ValidateRequest:
        if (self.code is None) == (self.method is None):
            raise ValueError("give either code or method")
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
