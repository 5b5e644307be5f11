"""Access tokens (JWT, HS256) and opaque refresh tokens.

The payload segment is made to decode with plain `base64 -d`, as the operators' guide does
(`echo TOKEN | cut -d '.' -f 2 | base64 -d`): JWTs use unpadded base64url, which `base64 -d`
rejects when padding is missing or a `-`/`_` appears. We write the claims as ASCII-only JSON,
escape the only ASCII characters that can land on a 62/63 sextet (`>`, `?`, `~`) as `\\u00XX`, and
pad the JSON with trailing spaces to a multiple of 3 bytes: the segment then has no padding and
only characters common to both alphabets, so `base64 -d` prints the claims without complaint
(the guide's `2>/dev/null` is only needed for tokens from elsewhere). It is still a standard JWT.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import api_jws

ALGORITHM = "HS256"
_ESCAPES = str.maketrans({">": "\\u003e", "?": "\\u003f", "~": "\\u007e"})


class TokenError(Exception):
    """Why a token was refused; `code` is the error body's code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class AccessClaims:
    sub: str
    role: str
    email: str
    jti: str
    iat: int
    exp: int
    fam: str | None = None  # the refresh-token family the token was issued with


def _payload_bytes(claims: dict[str, Any]) -> bytes:
    text = json.dumps(claims, separators=(",", ":"), ensure_ascii=True).translate(_ESCAPES)
    text += " " * (-len(text) % 3)
    return text.encode("ascii")


def issue_access(*, user_id: str, role: str, email: str, ttl: int, family: str | None) -> AccessClaims:
    """New access-token claims (call `encode` for the token)."""
    now = int(time.time())
    return AccessClaims(sub=user_id, role=role, email=email, jti=uuid.uuid4().hex, iat=now, exp=now + ttl, fam=family)


def encode(secret: str, claims: AccessClaims) -> str:
    payload = {"sub": claims.sub, "role": claims.role, "email": claims.email, "jti": claims.jti,
               "iat": claims.iat, "exp": claims.exp}
    if claims.fam:
        payload["fam"] = claims.fam
    return api_jws.encode(_payload_bytes(payload), secret, algorithm=ALGORITHM, headers={"typ": "JWT"})


def decode(secret: str, token: str) -> AccessClaims:
    """Verify signature and expiry; raise `TokenError` with code token_expired or token_invalid."""
    try:
        data = jwt.decode(token, secret, algorithms=[ALGORITHM],
                          options={"require": ["sub", "exp", "iat", "jti"]})
    except jwt.ExpiredSignatureError:
        raise TokenError("token_expired", "the access token has expired") from None
    except jwt.InvalidSignatureError:
        raise TokenError("token_invalid", "signature verification failed") from None
    except jwt.PyJWTError as exc:
        raise TokenError("token_invalid", f"malformed token: {exc}") from None
    try:
        return AccessClaims(sub=str(uuid.UUID(str(data["sub"]))), role=str(data.get("role", "")),
                            email=str(data.get("email", "")), jti=str(data["jti"]), iat=int(data["iat"]),
                            exp=int(data["exp"]), fam=data.get("fam"))
    except (ValueError, TypeError):
        raise TokenError("token_invalid", "malformed claims") from None


def new_refresh_token() -> tuple[str, str]:
    """(token for the client, its SHA-256 hex for the database)."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh(token)


def hash_refresh(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
