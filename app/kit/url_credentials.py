"""Credentials travel only in the `Authorization` header, never in a URL.

A URL is written to access logs, proxy logs and browser history, and a page's URL leaks
through `Referer`. So a request whose query string carries a credential is refused with
401 `unauthenticated` before any route or fast path sees it, whatever its header says: it
authenticates nothing, and the caller learns where the token belongs (issue 25). A
credential is a parameter named like one (`token`, `access_token`, …) or any value shaped
like a CreditDesk token (`cdk_…`, `cdp_…`). The portal link carries its token in the URL
fragment (`#token=…`), which browsers never send."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from app.kit.auth import KEY_PREFIX
from app.kit.errors import problem

# API keys (app.kit.auth), portal sessions (app.cabinet.service.PORTAL_PREFIX) and console
# sessions (app.console.service.CONSOLE_PREFIX); tests/kit/test_url_credentials.py checks
# that the features' prefixes are all here.
TOKEN_PREFIXES = (KEY_PREFIX, "cdp_", "cds_")
CREDENTIAL_PARAMETERS = frozenset(
    {
        "token",
        "access_token",
        "auth_token",
        "id_token",
        "session_token",
        "bearer",
        "api_key",
        "apikey",
        "api-key",
        "key",
        "auth",
        "authorization",
    }
)
REFUSAL = (
    "Credentials are accepted only in the `Authorization: Bearer <token>` header, never in "
    "the URL (a URL ends up in logs and in Referer). This request is refused; consider the "
    "token exposed and revoke it."
)


def carries_credential(query_string: bytes) -> bool:
    if not query_string:  # most requests: nothing to parse
        return False
    for name, value in parse_qsl(query_string.decode("utf-8", "replace"), keep_blank_values=True):
        if name.strip().lower() in CREDENTIAL_PARAMETERS or value.startswith(TOKEN_PREFIXES):
            return True
    return False


class RefuseUrlCredentialsMiddleware:
    """401 for any HTTP request with a credential in its query string (module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and carries_credential(scope.get("query_string", b"")):
            answer = problem(
                401, "unauthenticated", REFUSAL, headers={"WWW-Authenticate": "Bearer"}
            )
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)
