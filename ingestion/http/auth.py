"""OAuth logins: refresh-token grants (Amazon LWA, eBay, Google) and client-credentials grants (Shopify Dev
Dashboard apps): one access token per source, renewed before it expires, and again when the API says it is no
longer valid (a 401: ``invalidate``, called by the session, then one retry).

The secrets travel only in the token request (form body or Basic header); errors quote the vendor's
OAuth error body (``invalid_client``, ``invalid_grant``...), which never echoes them, and the object's
repr shows none of them.
"""

from __future__ import annotations

import threading
import time

import requests

from ingestion.http.session import IngestionHTTPError, ResilientSession

RENEW_BEFORE_S = 60


class RefreshTokenAuth(requests.auth.AuthBase):
    def __init__(
        self,
        source: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        *,
        basic_client_auth: bool,
        header: str = "Authorization",
        prefix: str = "Bearer ",
    ) -> None:
        self.source, self.token_url = source, token_url
        self.header, self.prefix = header, prefix
        self._client = (client_id, client_secret)
        self._basic_client_auth = basic_client_auth
        self._refresh_token = refresh_token
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self._session = ResilientSession(source, "oauth-token")

    def __repr__(self) -> str:  # never show the secrets, even in a debugger or a traceback's locals
        return f"{type(self).__name__}(source={self.source!r}, token_url={self.token_url!r})"

    def _token_request(self) -> requests.Response:
        form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
        if self._basic_client_auth:
            return self._session.post(self.token_url, data=form, auth=requests.auth.HTTPBasicAuth(*self._client))
        return self._session.post(
            self.token_url, data={**form, "client_id": self._client[0], "client_secret": self._client[1]}
        )

    def invalidate(self) -> None:
        """Forget the token (the API refused it): the next request asks for a new one."""
        with self._lock:
            self._token = None

    def _access_token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() > self._expires_at - RENEW_BEFORE_S:
                response = self._token_request()
                if not response.ok:
                    raise IngestionHTTPError(
                        f"{self.source}/oauth-token: POST {self.token_url} -> HTTP "
                        f"{response.status_code}: {response.text[:200]}"
                    )
                body = response.json()
                self._token = body["access_token"]
                self._expires_at = time.monotonic() + float(body["expires_in"])
            return self._token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self.header] = self.prefix + self._access_token()
        return request


class ClientCredentialsAuth(RefreshTokenAuth):
    """The client-credentials grant (RFC 6749 section 4.4): the app's own id and secret for a token, no refresh
    token (Shopify's Dev Dashboard apps: 24-hour tokens, ``X-Shopify-Access-Token``)."""

    def __init__(
        self, source: str, token_url: str, client_id: str, client_secret: str, *, header: str, prefix: str
    ) -> None:
        super().__init__(
            source, token_url, client_id, client_secret, "", basic_client_auth=False, header=header, prefix=prefix
        )

    def _token_request(self) -> requests.Response:
        form = {"grant_type": "client_credentials", "client_id": self._client[0], "client_secret": self._client[1]}
        return self._session.post(self.token_url, data=form)


class StaticTokenAuth(requests.auth.AuthBase):
    """A long-lived token in a header (Shopify's legacy ``shpat_`` tokens of admin-created custom apps)."""

    def __init__(self, header: str, token: str) -> None:
        self.header, self._token = header, token

    def __repr__(self) -> str:
        return f"{type(self).__name__}(header={self.header!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self.header] = self._token
        return request
