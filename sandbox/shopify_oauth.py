"""Shopify's client-credentials grant for Dev Dashboard apps: ``POST /admin/oauth/access_token``.

Since January 2026 a merchant connecting their own store creates an app in the Dev Dashboard, installs it, and
exchanges its client id and secret for an access token (RFC 6749 section 4.4): a form (or JSON) body
``grant_type=client_credentials&client_id=..&client_secret=..`` -> ``{"access_token": "shpat_...",
"scope": "read_orders,...", "expires_in": 86399}``. The token is sent as ``X-Shopify-Access-Token`` and lives
24 hours; after that the Admin API answers 401 as for any unknown token, and the app asks for a new one.

Errors (``{"error", "error_description"}``, HTTP 400): ``invalid_request`` (a missing parameter),
``unsupported_grant_type``, ``invalid_client`` (unknown client id or wrong secret).

Tokens are stateless (signed, carrying the client and the expiry) so they survive ``/_sandbox/advance``;
:data:`CLOCK` is the expiry clock (tests replace it to let a token expire during a load).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from sandbox.protocol import Request, Response

TOKEN_PATH = "/admin/oauth/access_token"
TOKEN_TTL_S = 86399
SCOPES = "read_orders,read_all_orders,read_customers,read_products,read_inventory"
# The PastaPro warehouse app in the sandbox shop's Dev Dashboard.
CLIENT_ID = "6f3c1a9e0b2d4c5e8f7a1b2c3d4e5f60"
CLIENT_SECRET = "shpss_sandbox_pastapro_dev_dashboard_secret"
CLOCK = time.time
_KEY = b"salesdw-sandbox-shopify-oauth"  # signs the sandbox's own tokens; not a secret of any real service


def _error(code: str, description: str) -> Response:
    return Response(400, {"error": code, "error_description": description})


def issue(client_id: str, ttl_s: int = TOKEN_TTL_S) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"c": client_id, "e": int(CLOCK()) + ttl_s}).encode()).decode()
    signature = hmac.new(_KEY, payload.encode(), hashlib.sha256).hexdigest()[:32]
    return f"shpat_{payload.rstrip('=')}.{signature}"


def valid(token: str) -> bool:
    """Whether ``token`` is a client-credentials token of this sandbox that has not expired."""
    if not token.startswith("shpat_") or "." not in token:
        return False
    payload, _, signature = token[len("shpat_") :].rpartition(".")
    expected = hmac.new(_KEY, (payload + "=" * (-len(payload) % 4)).encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(signature, expected):
        return False
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return False
    return claims.get("c") == CLIENT_ID and CLOCK() < float(claims.get("e", 0))


def access_token(req: Request, world: object) -> Response:
    content_type = req.headers.get("content-type", "")
    try:
        form = req.json() if "json" in content_type else req.form()
    except ValueError:
        return _error("invalid_request", "The request body could not be parsed.")
    if not isinstance(form, dict):
        return _error("invalid_request", "The request body could not be parsed.")
    grant = form.get("grant_type")
    if grant is None:
        return _error("invalid_request", "Missing required parameter: grant_type.")
    if grant != "client_credentials":
        return _error("unsupported_grant_type", f"The grant type {grant!r} is not supported.")
    for name in ("client_id", "client_secret"):
        if not form.get(name):
            return _error("invalid_request", f"Missing required parameter: {name}.")
    if form["client_id"] != CLIENT_ID or not hmac.compare_digest(str(form["client_secret"]), CLIENT_SECRET):
        return _error("invalid_client", "Client authentication failed: unknown client or wrong secret.")
    return Response(200, {"access_token": issue(CLIENT_ID), "scope": SCOPES, "expires_in": TOKEN_TTL_S})
