"""Google's OAuth 2.0 token endpoint (as ``https://oauth2.googleapis.com/token``): refresh tokens for access tokens.

``POST /token`` with a form body ``grant_type=refresh_token&client_id=..&client_secret=..&refresh_token=..``
(the client may also authenticate with HTTP Basic, as RFC 6749 allows and Google accepts) ->
``{"access_token": "ya29...", "expires_in": 3599, "scope": "...", "token_type": "Bearer"}``.

Errors as Google's token endpoint words them (``{"error", "error_description"}``):

- unknown ``client_id``: 401 ``invalid_client`` "The OAuth client was not found."; a wrong secret: 401
  ``invalid_client`` "Unauthorized";
- a refresh token that is unknown or was issued to another client: 400 ``invalid_grant`` "Bad Request";
- no ``refresh_token``: 400 ``invalid_request`` "Missing required parameter: refresh_token";
- no or another ``grant_type``: 400 ``unsupported_grant_type`` "Invalid grant_type: <value>".

Two demo OAuth clients: the Google Ads app (scope ``adwords``) and a Google Analytics app (scope
``analytics.readonly``, for a GA4 source). Access tokens are stateless (signed, carrying the client, the scope and
the expiry, like the eBay sandbox's), so they survive ``/_sandbox/advance`` and any API module can check them with
:func:`verify`; they expire after ``expires_in`` seconds of :data:`CLOCK` (tests may replace it). An API answers an
expired or unknown token with 401 ``UNAUTHENTICATED`` and a token of another scope with 403 ``PERMISSION_DENIED``
(``ACCESS_TOKEN_SCOPE_INSUFFICIENT``), as Google's APIs do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from sandbox.protocol import Request, Response, route
from sandbox.ratelimit import TokenBucket
from sandbox.world import World

TOKEN_PATH = "/token"
TOKEN_TTL_S = 3599  # Google's access tokens live an hour, announced as 3599 s
ADS_SCOPE = "https://www.googleapis.com/auth/adwords"
ANALYTICS_SCOPE = "https://www.googleapis.com/auth/analytics.readonly"

# The Google Ads app of PastaPro's Google Cloud project (an installed-app OAuth client).
ADS_CLIENT_ID = "482910375516-pastapro-ads-sandbox.apps.googleusercontent.com"
ADS_CLIENT_SECRET = "GOCSPX-sandbox-pastapro-ads-secret"
ADS_REFRESH_TOKEN = "1//0g-sandbox-pastapro-google-ads-refresh-token"
# The Google Analytics (GA4 Data API) app of the same project.
ANALYTICS_CLIENT_ID = "482910375516-pastapro-analytics-sandbox.apps.googleusercontent.com"
ANALYTICS_CLIENT_SECRET = "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ecret"
ANALYTICS_REFRESH_TOKEN = "1//0g-sandbox-pastapro-analytics-refresh-token"

CLOCK = time.time  # the token clock (tests may replace it)
_SIGNING_KEY = b"salesdw-sandbox-google-oauth"  # signs the sandbox's own tokens; not a secret of any real service


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str
    refresh_token: str
    scope: str


CLIENTS = {
    c.client_id: c
    for c in (
        OAuthClient(ADS_CLIENT_ID, ADS_CLIENT_SECRET, ADS_REFRESH_TOKEN, ADS_SCOPE),
        OAuthClient(ANALYTICS_CLIENT_ID, ANALYTICS_CLIENT_SECRET, ANALYTICS_REFRESH_TOKEN, ANALYTICS_SCOPE),
    )
}


@dataclass(frozen=True)
class TokenCheck:
    """What an API learns from a bearer token: ``status`` ``valid`` | ``expired`` | ``invalid``, and its scope."""

    status: str
    scope: str = ""
    client_id: str = ""


def _sign(payload: str) -> str:
    return hmac.new(_SIGNING_KEY, payload.encode(), hashlib.sha256).hexdigest()[:40]


def issue(client: OAuthClient) -> str:
    claims = {"c": client.client_id, "s": client.scope, "e": CLOCK() + TOKEN_TTL_S}
    payload = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"ya29.a0{payload}.{_sign(payload)}"


def verify(token: str) -> TokenCheck:
    if not token.startswith("ya29.a0"):
        return TokenCheck("invalid")
    payload, _, signature = token[len("ya29.a0") :].partition(".")
    if not payload or not hmac.compare_digest(signature, _sign(payload)):
        return TokenCheck("invalid")
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        expires, scope, client_id = float(claims["e"]), str(claims["s"]), str(claims["c"])
    except (ValueError, KeyError, TypeError):
        return TokenCheck("invalid")
    return TokenCheck("valid" if CLOCK() < expires else "expired", scope, client_id)


def bearer(req: Request) -> str | None:
    """The bearer token of ``Authorization: Bearer <token>``; None when the header is absent or another scheme."""
    scheme, _, token = req.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _error(status: int, error: str, description: str) -> Response:
    return Response(status, {"error": error, "error_description": description})


def _client_credentials(req: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    scheme, _, encoded = req.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except ValueError:
            return None, None
        return client_id, secret
    return form.get("client_id"), form.get("client_secret")


def issue_token(req: Request, world: World) -> Response:
    form = req.form()
    grant = form.get("grant_type")
    if grant != "refresh_token":
        return _error(400, "unsupported_grant_type", f"Invalid grant_type: {grant or ''}")
    client_id, secret = _client_credentials(req, form)
    client = CLIENTS.get(client_id or "")
    if client is None:
        return _error(401, "invalid_client", "The OAuth client was not found.")
    if secret != client.client_secret:
        return _error(401, "invalid_client", "Unauthorized")
    if "refresh_token" not in form:
        return _error(400, "invalid_request", "Missing required parameter: refresh_token")
    if form["refresh_token"] != client.refresh_token:
        return _error(400, "invalid_grant", "Bad Request")
    body: dict[str, Any] = {
        "access_token": issue(client),
        "expires_in": TOKEN_TTL_S,
        "scope": client.scope,
        "token_type": "Bearer",
    }
    return Response(200, body)


# --- vendor wiring: routes, auth, rate limits (the server is generic) ---
NAME = "google_oauth"
LIST_PARAMS: dict[str, tuple[str, ...]] = {}
# Google publishes no limit for its token endpoint; a generous bucket (clients renew once an hour).
LIMITS = {"google_oauth": {"real": (100, 10.0), "demo": (1000, 100.0)}}


def authorize(app: object, req: Request) -> Response | None:
    return None  # the token endpoint authenticates the client itself (form or Basic)


def throttled(bucket: str, wait_s: float) -> Response:
    return _error(429, "rate_limit_exceeded", "Rate Limit Exceeded")


def limit_headers(bucket: str, state: TokenBucket) -> dict[str, str]:
    return {}


ROUTES = [route("POST", TOKEN_PATH, "google_oauth", issue_token)]
