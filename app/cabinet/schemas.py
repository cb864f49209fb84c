from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

# Secrets are shown once: an idempotent replay (`Idempotent-Replayed: true`) answers them as
# null, because they are stored nowhere (app.kit.routing.redact_from_idempotency_record).
SHOWN_ONCE = (
    "Shown only in this response; null in an idempotent replay (`Idempotent-Replayed: "
    "true`), since the secret is stored nowhere: if the first answer was lost, end this "
    "session and mint another."
)


class PortalSessionCreated(BaseModel):
    id: str = Field(description="`key_…`: end it early with `DELETE /v1/portal-sessions/{id}`")
    customer_id: str
    url: str | None = Field(
        description="the cabinet, with the token in the URL fragment. " + SHOWN_ONCE
    )
    token: str | None = Field(description="customer-role bearer token. " + SHOWN_ONCE)
    expires_at: datetime
