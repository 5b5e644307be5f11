"""Settings: read once from `DOCMAN_*` environment variables into small frozen structs.

Every variable is declared once in `VARIABLES` with its default and a line of documentation;
`docman settings` prints that table and the README's settings section is generated from it.
An invalid value raises `SettingsError` naming the variable, which stops the start.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec


class SettingsError(ValueError):
    """A `DOCMAN_*` variable holds a value the system cannot use."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


class ServerSettings(msgspec.Struct, frozen=True):
    host: str
    port: int
    embedded_workers: int
    cors_origins: tuple[str, ...]
    max_request_bytes: int
    metrics_public: bool


class DatabaseSettings(msgspec.Struct, frozen=True):
    url: str | None
    pool_min: int
    pool_max: int
    connect_timeout: float
    check_timeout: float


class StorageSettings(msgspec.Struct, frozen=True):
    backend: str  # "local" | "s3"
    local_dir: Path
    s3_endpoint: str
    s3_bucket: str
    s3_access_key: str
    s3_secret_key: str
    s3_secure: bool
    s3_region: str | None
    check_timeout: float


class IngestSettings(msgspec.Struct, frozen=True):
    max_upload_bytes: int
    max_pages: int
    chunk_tokens: int
    chunk_overlap: int
    worker_concurrency: int
    lease_seconds: float
    max_attempts: int
    poll_interval: float
    worker_metrics_port: int


class EmbeddingSettings(msgspec.Struct, frozen=True):
    backend: str  # "local" | "openai"
    model: str
    dim: int
    batch_size: int
    openai_base_url: str | None
    openai_api_key: str | None


class IndexSettings(msgspec.Struct, frozen=True):
    dir: Path
    sync_interval: float


class LLMSettings(msgspec.Struct, frozen=True):
    base_url: str | None
    api_key: str | None
    model: str
    timeout: float
    max_tokens: int
    temperature: float
    max_retries: int
    context_window: int
    check_timeout: float

    @property
    def configured(self) -> bool:
        return bool(self.base_url)


class LogSettings(msgspec.Struct, frozen=True):
    level: str
    json: bool
    ring_size: int


class AuthSettings(msgspec.Struct, frozen=True):
    admin_email: str
    admin_password: str | None
    jwt_secret: str | None
    access_ttl_seconds: int
    refresh_ttl_seconds: int
    max_failed_logins: int
    lockout_seconds: int


class RateLimitSettings(msgspec.Struct, frozen=True):
    """Requests per minute; each is a token bucket of that size, refilled evenly, per replica."""

    enabled: bool
    login_per_address: int
    upload_per_user: int
    search_per_user: int
    chat_per_user: int
    per_address: int


class Settings(msgspec.Struct, frozen=True):
    data_dir: Path
    server: ServerSettings
    database: DatabaseSettings
    storage: StorageSettings
    ingest: IngestSettings
    embedding: EmbeddingSettings
    index: IndexSettings
    llm: LLMSettings
    log: LogSettings
    auth: AuthSettings
    rate_limit: RateLimitSettings

    @property
    def embedded_database_dir(self) -> Path:
        return self.data_dir / "postgres"


# ---------------------------------------------------------------- parsing


def _str(v: str) -> str:
    return v


def _opt(v: str) -> str | None:
    return v or None


def _int(v: str) -> int:
    return int(v.replace("_", ""))


def _pos_int(v: str) -> int:
    n = _int(v)
    if n < 1:
        raise ValueError("must be a positive integer")
    return n


def _nonneg_int(v: str) -> int:
    n = _int(v)
    if n < 0:
        raise ValueError("must be zero or more")
    return n


def _port(v: str) -> int:
    n = _int(v)
    if not 0 <= n <= 65535:
        raise ValueError("must be a port number between 0 and 65535")
    return n


def _pos_float(v: str) -> float:
    f = float(v)
    if not f > 0:
        raise ValueError("must be a positive number")
    return f


def _float(v: str) -> float:
    return float(v)


def _bool(v: str) -> bool:
    low = v.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be true or false")


def _list(v: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in v.split(",") if p.strip())


def _size(v: str) -> int:
    """Bytes, with an optional K/M/G suffix (powers of 1024)."""
    s = v.strip().upper().removesuffix("B")
    mult = 1
    for suffix, m in (("K", 1024), ("M", 1024**2), ("G", 1024**3)):
        if s.endswith(suffix):
            s, mult = s[:-1], m
            break
    n = int(float(s) * mult)
    if n < 1:
        raise ValueError("must be a positive size such as 100M")
    return n


def _secret(v: str) -> str | None:
    if v and len(v) < 32:
        raise ValueError("must be at least 32 characters (or unset, to generate one)")
    return v or None


def _choice(*options: str) -> Callable[[str], str]:
    def parse(v: str) -> str:
        low = v.strip().lower()
        if low not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return low

    return parse


def _level(v: str) -> str:
    return _choice("trace", "debug", "info", "success", "warning", "error", "critical")(v).upper()


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    parse: Callable[[str], Any]
    doc: str


VARIABLES: tuple[Variable, ...] = (
    Variable("DOCMAN_DATA_DIR", "./data", _str, "Directory for the embedded database, local files and the vector index."),
    Variable("DOCMAN_HOST", "127.0.0.1", _str, "Address the API listens on."),
    Variable("DOCMAN_PORT", "8000", _port, "Port the API listens on."),
    Variable("DOCMAN_EMBEDDED_WORKERS", "1", _nonneg_int, "Ingestion workers run inside `docman serve` (0: only separate `docman worker` processes)."),
    Variable("DOCMAN_CORS_ORIGINS", "", _list, "Comma-separated origins allowed by CORS (empty: no cross-origin access)."),
    Variable("DOCMAN_MAX_REQUEST_BYTES", "110M", _size, "Largest request body accepted (K/M/G suffixes)."),
    Variable("DOCMAN_METRICS_PUBLIC", "true", _bool, "Serve /metrics without a token (bind the port privately), else operators only."),
    Variable("DOCMAN_DATABASE_URL", "", _opt, "PostgreSQL URL. Unset: a private embedded PostgreSQL under the data directory."),
    Variable("DOCMAN_DB_POOL_MIN", "2", _pos_int, "Minimum connections in the pool."),
    Variable("DOCMAN_DB_POOL_MAX", "10", _pos_int, "Maximum connections in the pool."),
    Variable("DOCMAN_DB_CONNECT_TIMEOUT", "5", _pos_float, "Seconds to wait for a database connection."),
    Variable("DOCMAN_DB_CHECK_TIMEOUT", "2", _pos_float, "Seconds the health check waits for the database."),
    Variable("DOCMAN_STORAGE_BACKEND", "local", _choice("local", "s3"), "Where originals are kept: `local` directory or `s3` (MinIO or any S3 service)."),
    Variable("DOCMAN_STORAGE_DIR", "", _opt, "Local storage directory (default: DATA_DIR/files)."),
    Variable("DOCMAN_S3_ENDPOINT", "127.0.0.1:9000", _str, "S3/MinIO endpoint host:port."),
    Variable("DOCMAN_S3_BUCKET", "documents", _str, "Bucket for originals; created if missing."),
    Variable("DOCMAN_S3_ACCESS_KEY", "", _str, "S3 access key."),
    Variable("DOCMAN_S3_SECRET_KEY", "", _str, "S3 secret key."),
    Variable("DOCMAN_S3_SECURE", "false", _bool, "Use TLS for S3."),
    Variable("DOCMAN_S3_REGION", "", _opt, "S3 region (optional)."),
    Variable("DOCMAN_STORAGE_CHECK_TIMEOUT", "2", _pos_float, "Seconds the health check waits for file storage."),
    Variable("DOCMAN_MAX_UPLOAD_BYTES", "100M", _size, "Largest document accepted (K/M/G suffixes)."),
    Variable("DOCMAN_MAX_PAGES", "5000", _pos_int, "Most pages a PDF may have."),
    Variable("DOCMAN_CHUNK_TOKENS", "256", _pos_int, "Target chunk size in embedding-model tokens."),
    Variable("DOCMAN_CHUNK_OVERLAP", "40", _nonneg_int, "Tokens shared by consecutive chunks."),
    Variable("DOCMAN_WORKER_CONCURRENCY", "1", _pos_int, "Jobs one worker process runs at once."),
    Variable("DOCMAN_JOB_LEASE_SECONDS", "60", _pos_float, "A claimed job returns to the queue if its worker is silent this long."),
    Variable("DOCMAN_JOB_MAX_ATTEMPTS", "3", _pos_int, "Attempts before a document is marked failed."),
    Variable("DOCMAN_WORKER_POLL_INTERVAL", "1", _pos_float, "Seconds an idle worker waits before looking for work again."),
    Variable("DOCMAN_WORKER_METRICS_PORT", "0", _port, "Port on which `docman worker` serves /metrics on DOCMAN_HOST (0: none)."),
    Variable("DOCMAN_EMBEDDING_BACKEND", "local", _choice("local", "openai"), "`local`: bundled all-MiniLM-L6-v2, offline; `openai`: any OpenAI-compatible embeddings endpoint."),
    Variable("DOCMAN_EMBEDDING_MODEL", "all-MiniLM-L6-v2", _str, "Embedding model name."),
    Variable("DOCMAN_EMBEDDING_DIM", "384", _pos_int, "Embedding dimension (checked against the model)."),
    Variable("DOCMAN_EMBEDDING_BATCH", "32", _pos_int, "Texts embedded per batch."),
    Variable("DOCMAN_EMBEDDING_BASE_URL", "", _opt, "Base URL of the embeddings endpoint (openai backend)."),
    Variable("DOCMAN_EMBEDDING_API_KEY", "", _opt, "API key of the embeddings endpoint."),
    Variable("DOCMAN_INDEX_DIR", "", _opt, "Directory of the FAISS index file (default: DATA_DIR/index)."),
    Variable("DOCMAN_INDEX_SYNC_INTERVAL", "1", _pos_float, "Seconds between index catch-ups with the database."),
    Variable("DOCMAN_LLM_BASE_URL", "", _opt, "OpenAI-compatible base URL (e.g. http://localhost:11434/v1). Unset: extractive answers."),
    Variable("DOCMAN_LLM_API_KEY", "", _opt, "API key for the LLM endpoint."),
    Variable("DOCMAN_LLM_MODEL", "gpt-4o-mini", _str, "Chat model name."),
    Variable("DOCMAN_LLM_TIMEOUT", "60", _pos_float, "Seconds before an LLM request is abandoned."),
    Variable("DOCMAN_LLM_MAX_TOKENS", "512", _pos_int, "Most tokens generated per answer."),
    Variable("DOCMAN_LLM_TEMPERATURE", "0.1", _float, "Sampling temperature."),
    Variable("DOCMAN_LLM_MAX_RETRIES", "4", _nonneg_int, "Retries on 429 and 5xx, with exponential backoff."),
    Variable("DOCMAN_LLM_CONTEXT_WINDOW", "8192", _pos_int, "The model's context window in tokens; prompts are packed to fit."),
    Variable("DOCMAN_LLM_CHECK_TIMEOUT", "3", _pos_float, "Seconds the health check waits for the LLM endpoint."),
    Variable("DOCMAN_LOG_LEVEL", "info", _level, "Lowest level logged."),
    Variable("DOCMAN_LOG_JSON", "false", _bool, "One JSON object per line (for Loki) instead of plain text."),
    Variable("DOCMAN_LOG_RING_SIZE", "5000", _pos_int, "Recent log records kept in memory for the operator console."),
    Variable("DOCMAN_ADMIN_EMAIL", "admin@example.com", _str, "Email of the first admin, created at first start."),
    Variable("DOCMAN_ADMIN_PASSWORD", "", _opt, "Password of the first admin (unset: generated and printed once)."),
    Variable("DOCMAN_JWT_SECRET", "", _secret, "Secret for signing tokens, at least 32 characters (unset: generated once, shared by every replica through the database, copied to DATA_DIR/jwt-secret)."),
    Variable("DOCMAN_ACCESS_TOKEN_TTL", "900", _pos_int, "Access token lifetime in seconds."),
    Variable("DOCMAN_REFRESH_TOKEN_TTL", "1209600", _pos_int, "Refresh token lifetime in seconds."),
    Variable("DOCMAN_LOGIN_MAX_FAILURES", "5", _pos_int, "Failed logins in a row that lock an account."),
    Variable("DOCMAN_LOGIN_LOCKOUT_SECONDS", "900", _pos_int, "How long a locked account refuses logins."),
    Variable("DOCMAN_RATE_LIMIT_ENABLED", "true", _bool, "Apply the DOCMAN_RATE_LIMIT_* limits (in-process token buckets: per replica)."),
    Variable("DOCMAN_RATE_LIMIT_LOGIN", "20", _pos_int, "Token requests (logins) per minute per client address."),
    Variable("DOCMAN_RATE_LIMIT_UPLOAD", "120", _pos_int, "Uploads per minute per user."),
    Variable("DOCMAN_RATE_LIMIT_SEARCH", "300", _pos_int, "Searches per minute per user."),
    Variable("DOCMAN_RATE_LIMIT_CHAT", "120", _pos_int, "Chat requests per minute per user."),
    Variable("DOCMAN_RATE_LIMIT_ADDRESS", "1200", _pos_int, "Uploads, searches and chat requests together per minute per client address."),
)

_BY_NAME = {v.name: v for v in VARIABLES}


def _read(env: Mapping[str, str], name: str) -> Any:
    var = _BY_NAME[name]
    raw = env.get(name)
    if raw is None:
        raw = var.default
    try:
        return var.parse(raw)
    except (ValueError, TypeError) as exc:
        detail = str(exc) if str(exc) and "invalid literal" not in str(exc) else "is not a valid value"
        shown = "the value" if name.endswith(("_SECRET", "_PASSWORD", "_KEY")) else repr(raw)  # never echo secrets
        raise SettingsError(name, f"{shown} {detail}".strip()) from None


def load_settings(env: Mapping[str, str] | None = None, **overrides: str) -> Settings:
    """Build `Settings` from `env` (default: the process environment) plus `overrides`."""
    src = dict(os.environ if env is None else env)
    src.update(overrides)

    def r(name: str) -> Any:
        return _read(src, name)

    data_dir = Path(r("DOCMAN_DATA_DIR")).expanduser().resolve()
    if r("DOCMAN_DB_POOL_MIN") > r("DOCMAN_DB_POOL_MAX"):
        raise SettingsError("DOCMAN_DB_POOL_MIN", "must not exceed DOCMAN_DB_POOL_MAX")
    if r("DOCMAN_CHUNK_OVERLAP") >= r("DOCMAN_CHUNK_TOKENS"):
        raise SettingsError("DOCMAN_CHUNK_OVERLAP", "must be smaller than DOCMAN_CHUNK_TOKENS")
    embedding_backend = r("DOCMAN_EMBEDDING_BACKEND")
    if embedding_backend == "openai" and not r("DOCMAN_EMBEDDING_BASE_URL"):
        raise SettingsError("DOCMAN_EMBEDDING_BASE_URL", "is required when DOCMAN_EMBEDDING_BACKEND=openai")
    storage_backend = r("DOCMAN_STORAGE_BACKEND")
    if storage_backend == "s3" and not (r("DOCMAN_S3_ACCESS_KEY") and r("DOCMAN_S3_SECRET_KEY")):
        raise SettingsError("DOCMAN_S3_ACCESS_KEY", "and DOCMAN_S3_SECRET_KEY are required when DOCMAN_STORAGE_BACKEND=s3")
    database_url = r("DOCMAN_DATABASE_URL")
    if database_url:
        _check_conninfo(database_url)

    return Settings(
        data_dir=data_dir,
        server=ServerSettings(
            host=r("DOCMAN_HOST"),
            port=r("DOCMAN_PORT"),
            embedded_workers=r("DOCMAN_EMBEDDED_WORKERS"),
            cors_origins=r("DOCMAN_CORS_ORIGINS"),
            max_request_bytes=r("DOCMAN_MAX_REQUEST_BYTES"),
            metrics_public=r("DOCMAN_METRICS_PUBLIC"),
        ),
        database=DatabaseSettings(
            url=database_url,
            pool_min=r("DOCMAN_DB_POOL_MIN"),
            pool_max=r("DOCMAN_DB_POOL_MAX"),
            connect_timeout=r("DOCMAN_DB_CONNECT_TIMEOUT"),
            check_timeout=r("DOCMAN_DB_CHECK_TIMEOUT"),
        ),
        storage=StorageSettings(
            backend=storage_backend,
            local_dir=Path(r("DOCMAN_STORAGE_DIR") or data_dir / "files").expanduser().resolve(),
            s3_endpoint=r("DOCMAN_S3_ENDPOINT"),
            s3_bucket=r("DOCMAN_S3_BUCKET"),
            s3_access_key=r("DOCMAN_S3_ACCESS_KEY"),
            s3_secret_key=r("DOCMAN_S3_SECRET_KEY"),
            s3_secure=r("DOCMAN_S3_SECURE"),
            s3_region=r("DOCMAN_S3_REGION"),
            check_timeout=r("DOCMAN_STORAGE_CHECK_TIMEOUT"),
        ),
        ingest=IngestSettings(
            max_upload_bytes=r("DOCMAN_MAX_UPLOAD_BYTES"),
            max_pages=r("DOCMAN_MAX_PAGES"),
            chunk_tokens=r("DOCMAN_CHUNK_TOKENS"),
            chunk_overlap=r("DOCMAN_CHUNK_OVERLAP"),
            worker_concurrency=r("DOCMAN_WORKER_CONCURRENCY"),
            lease_seconds=r("DOCMAN_JOB_LEASE_SECONDS"),
            max_attempts=r("DOCMAN_JOB_MAX_ATTEMPTS"),
            poll_interval=r("DOCMAN_WORKER_POLL_INTERVAL"),
            worker_metrics_port=r("DOCMAN_WORKER_METRICS_PORT"),
        ),
        embedding=EmbeddingSettings(
            backend=embedding_backend,
            model=r("DOCMAN_EMBEDDING_MODEL"),
            dim=r("DOCMAN_EMBEDDING_DIM"),
            batch_size=r("DOCMAN_EMBEDDING_BATCH"),
            openai_base_url=r("DOCMAN_EMBEDDING_BASE_URL"),
            openai_api_key=r("DOCMAN_EMBEDDING_API_KEY"),
        ),
        index=IndexSettings(
            dir=Path(r("DOCMAN_INDEX_DIR") or data_dir / "index").expanduser().resolve(),
            sync_interval=r("DOCMAN_INDEX_SYNC_INTERVAL"),
        ),
        llm=LLMSettings(
            base_url=r("DOCMAN_LLM_BASE_URL"),
            api_key=r("DOCMAN_LLM_API_KEY"),
            model=r("DOCMAN_LLM_MODEL"),
            timeout=r("DOCMAN_LLM_TIMEOUT"),
            max_tokens=r("DOCMAN_LLM_MAX_TOKENS"),
            temperature=r("DOCMAN_LLM_TEMPERATURE"),
            max_retries=r("DOCMAN_LLM_MAX_RETRIES"),
            context_window=r("DOCMAN_LLM_CONTEXT_WINDOW"),
            check_timeout=r("DOCMAN_LLM_CHECK_TIMEOUT"),
        ),
        log=LogSettings(level=r("DOCMAN_LOG_LEVEL"), json=r("DOCMAN_LOG_JSON"), ring_size=r("DOCMAN_LOG_RING_SIZE")),
        auth=AuthSettings(
            admin_email=r("DOCMAN_ADMIN_EMAIL"),
            admin_password=r("DOCMAN_ADMIN_PASSWORD"),
            jwt_secret=r("DOCMAN_JWT_SECRET"),
            access_ttl_seconds=r("DOCMAN_ACCESS_TOKEN_TTL"),
            refresh_ttl_seconds=r("DOCMAN_REFRESH_TOKEN_TTL"),
            max_failed_logins=r("DOCMAN_LOGIN_MAX_FAILURES"),
            lockout_seconds=r("DOCMAN_LOGIN_LOCKOUT_SECONDS"),
        ),
        rate_limit=RateLimitSettings(
            enabled=r("DOCMAN_RATE_LIMIT_ENABLED"),
            login_per_address=r("DOCMAN_RATE_LIMIT_LOGIN"),
            upload_per_user=r("DOCMAN_RATE_LIMIT_UPLOAD"),
            search_per_user=r("DOCMAN_RATE_LIMIT_SEARCH"),
            chat_per_user=r("DOCMAN_RATE_LIMIT_CHAT"),
            per_address=r("DOCMAN_RATE_LIMIT_ADDRESS"),
        ),
    )


def _check_conninfo(value: str) -> None:
    from psycopg.conninfo import conninfo_to_dict

    if "://" in value and not value.startswith(("postgresql://", "postgres://")):
        raise SettingsError("DOCMAN_DATABASE_URL", f"{value!r} must start with postgresql://")
    try:
        conninfo_to_dict(value)
    except Exception as exc:
        raise SettingsError("DOCMAN_DATABASE_URL", f"{value!r} is not a PostgreSQL URL: {exc}") from None


def settings_table() -> str:
    """The Markdown table of every variable, for `docman settings` and the README."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{v.name}` | `{v.default}` | {v.doc} |" for v in VARIABLES]
    return "\n".join(rows)
