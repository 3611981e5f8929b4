from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from portvakt.protocol import MAX_TOKEN


class TokenBody(BaseModel):
    """``{"token": "<compact JWS>"}``"""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=10, max_length=MAX_TOKEN)
