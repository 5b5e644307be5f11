"""Where a signed-in session is kept: `$XDG_CONFIG_HOME/docman/credentials.json` (mode 0600).

It holds the server URL, the account's email and its refresh token (and the current access
token), so `docman chat` and `docman console` start signed in. The directory is made 0700.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import msgspec

CREDENTIALS_FILE = "credentials.json"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "docman"


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "docman"


def normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if url and "://" not in url:
        url = f"http://{url}"
    return url


class Session(msgspec.Struct, kw_only=True):
    """One server and the tokens of one account on it."""

    server: str
    email: str = ""
    refresh_token: str | None = None
    access_token: str | None = None
    access_expires_at: float | None = None  # epoch seconds

    def access_fresh(self, skew: float = 10.0) -> bool:
        return bool(self.access_token) and (
            self.access_expires_at is None or time.time() + skew < self.access_expires_at
        )

    def signed_in(self) -> bool:
        return bool(self.access_token or self.refresh_token)


@dataclass
class CredentialStore:
    """The credentials file; `path` defaults to the user's config dir."""

    path: Path | None = None

    def __post_init__(self) -> None:
        if self.path is None:
            self.path = config_dir() / CREDENTIALS_FILE

    @property
    def file(self) -> Path:
        assert self.path is not None
        return self.path

    def load(self) -> Session | None:
        try:
            return msgspec.json.decode(self.file.read_bytes(), type=Session)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError):
            return None

    def save(self, session: Session) -> None:
        directory = self.file.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(directory, 0o700)
        tmp = directory / f".{self.file.name}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, msgspec.json.format(msgspec.json.encode(session)))
        finally:
            os.close(fd)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.file)

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.file.unlink()
