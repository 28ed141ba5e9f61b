"""Request signing as the providers document it, shared by plugins and the test servers.

- Aliyun RPC (signature method V2, used by Dysmsapi ``SendSms`` and Dyvmsapi
  ``SingleCallByTts``): sort the parameters, RFC 3986 percent-encode names and values,
  ``StringToSign = METHOD & enc("/") & enc(query)``, HMAC-SHA1 with ``secret + "&"``, base64.
- Tencent Cloud API 3.0 ``TC3-HMAC-SHA256``: canonical request of method, URI, query, the
  signed headers (content-type, host) and the SHA-256 of the payload; string to sign with the
  timestamp and ``date/service/tc3_request`` scope; key derived by chained HMAC-SHA256 from
  ``"TC3" + SecretKey`` over date, service and ``tc3_request``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import quote


def aliyun_encode(value: str) -> str:
    """RFC 3986 encoding: unreserved kept, space as %20, '*' as %2A, '~' kept."""
    return quote(value, safe="-_.~")


def aliyun_signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """The ``Signature`` parameter for an Aliyun RPC request (``params`` without it)."""
    canonical = "&".join(
        f"{aliyun_encode(k)}={aliyun_encode(v)}" for k, v in sorted(params.items())
    )
    to_sign = f"{method}&{aliyun_encode('/')}&{aliyun_encode(canonical)}"
    digest = hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def tc3_authorization(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    payload: bytes,
    timestamp: int,
    content_type: str = "application/json; charset=utf-8",
    path: str = "/",
) -> str:
    """The ``Authorization`` header of a Tencent Cloud API 3.0 POST request."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    signed_headers = "content-type;host"
    canonical = "\n".join(
        [
            "POST",
            path,
            "",
            f"content-type:{content_type}\nhost:{host}\n",
            signed_headers,
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )

    def _hmac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
