from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class PortalSessionCreated(BaseModel):
    id: str = Field(description="`key_…`: revoke it early with `DELETE /v1/api-keys/{id}`")
    customer_id: str
    url: str = Field(description="the cabinet, with the token in the URL fragment")
    token: str = Field(description="customer-role bearer token; shown only here")
    expires_at: datetime
