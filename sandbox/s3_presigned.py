"""S3 pre-signed GET URLs as the sandbox serves report files (Amazon Ads reports, SP-API report documents).

Both vendors hand out a query-string-signed S3 URL (``X-Amz-Algorithm``, ``X-Amz-Date``, ``X-Amz-Expires``,
``X-Amz-Signature``...) that expires. The sandbox signs with an HMAC of its own (a stand-in for AWS's
signature v4 key) and refuses a download as S3 does, with S3's XML error body: an ``Authorization`` header
besides the query signature (400 ``InvalidArgument``), a missing parameter (403 ``AccessDenied``), a wrong
signature (403 ``SignatureDoesNotMatch``), an expired URL (403 ``AccessDenied`` "Request has expired").
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from sandbox.protocol import Request, Response

SIGNED = ("X-Amz-Algorithm", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature")


def s3_error(status: int, code: str, message: str, **extra: str) -> Response:
    """S3's XML error body."""
    parts = "".join(f"<{k}>{v}</{k}>" for k, v in extra.items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>{parts}"
        "<RequestId>SANDBOX0REQUEST0</RequestId><HostId>sandbox</HostId></Error>"
    )
    return Response(status, body.encode(), {"Content-Type": "application/xml"})


@dataclass(frozen=True)
class Bucket:
    """One bucket's signer: its name (the URL path's first segment), signing key and access key id."""

    name: str
    signing_key: bytes
    access_key: str

    def _signature(self, key: str, amz_date: str, expires: str) -> str:
        message = f"GET\n/{self.name}/{key}\n{amz_date}\n{expires}".encode()
        return hmac.new(self.signing_key, message, hashlib.sha256).hexdigest()

    def presign(self, base_url: str, key: str, now: float, ttl_s: int) -> str:
        """The URL of ``key``, signed at ``now`` (epoch seconds), valid ``ttl_s`` seconds."""
        amz_date = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
        params = {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Date": amz_date,
            "X-Amz-SignedHeaders": "host",
            "X-Amz-Expires": str(ttl_s),
            "X-Amz-Credential": f"{self.access_key}/{amz_date[:8]}/us-east-1/s3/aws4_request",
            "X-Amz-Signature": self._signature(key, amz_date, str(ttl_s)),
        }
        return f"{base_url}/{self.name}/{key}?{urlencode(params)}"

    def refuse(self, req: Request, key: str, now: float) -> Response | None:
        """S3's answer to a GET of ``key`` whose pre-signed URL is not valid at ``now``; None: it is."""
        q = req.query
        if req.headers.get("authorization"):
            return s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string "
                "parameter or the Authorization header should be specified",
                ArgumentName="Authorization",
            )
        if any(n not in q for n in SIGNED):
            return s3_error(403, "AccessDenied", "Access Denied")
        if not hmac.compare_digest(q["X-Amz-Signature"], self._signature(key, q["X-Amz-Date"], q["X-Amz-Expires"])):
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
            )
        signed = datetime.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires = signed + timedelta(seconds=int(q["X-Amz-Expires"]))
        at = datetime.fromtimestamp(now, UTC)
        if at > expires:
            return s3_error(
                403,
                "AccessDenied",
                "Request has expired",
                **{
                    "X-Amz-Expires": q["X-Amz-Expires"],
                    "Expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "ServerTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            )
        return None
