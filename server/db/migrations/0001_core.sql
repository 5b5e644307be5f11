-- Users, documents, their pages and chunks, the ingestion queue and the vector change log.

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('user', 'operator', 'admin')),
    disabled      boolean NOT NULL DEFAULT false,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE documents (
    id              uuid PRIMARY KEY,
    owner           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title           text NOT NULL,
    filename        text NOT NULL,
    content_type    text NOT NULL,
    size_bytes      bigint NOT NULL CHECK (size_bytes >= 0),
    sha256          text NOT NULL,
    storage_key     text NOT NULL,
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'extracting', 'chunking', 'embedding', 'indexing', 'ready', 'failed')),
    stage           text NOT NULL DEFAULT 'queued',
    error           text,
    error_code      text,
    notes           text[] NOT NULL DEFAULT '{}',
    page_count      integer,
    pages_done      integer NOT NULL DEFAULT 0,
    chunk_count     integer NOT NULL DEFAULT 0,
    embedding_model text,
    upload_date     timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    ready_at        timestamptz,
    CONSTRAINT documents_owner_sha256_key UNIQUE (owner, sha256)
);
CREATE INDEX documents_owner_idx ON documents (owner, upload_date DESC);
CREATE INDEX documents_status_idx ON documents (status);

CREATE TABLE document_pages (
    document_id uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    page_no     integer NOT NULL CHECK (page_no >= 1),
    text        text NOT NULL,
    PRIMARY KEY (document_id, page_no)
);

CREATE TABLE document_chunks (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id     uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ordinal         integer NOT NULL,
    page_start      integer NOT NULL,
    page_end        integer NOT NULL,
    text            text NOT NULL,
    token_count     integer NOT NULL,
    embedding       bytea,            -- float32 little-endian, L2-normalised; NULL until embedded
    embedding_model text,
    tsv             tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
    CONSTRAINT document_chunks_document_ordinal_key UNIQUE (document_id, ordinal),
    CHECK (page_end >= page_start)
);
CREATE INDEX document_chunks_tsv_idx ON document_chunks USING gin (tsv);

-- The ingestion queue: claimed with FOR UPDATE SKIP LOCKED, held by a renewable lease.
CREATE TABLE ingest_jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id  uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    state        text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL,
    run_after    timestamptz NOT NULL DEFAULT now(),
    lease_until  timestamptz,
    worker       text,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX ingest_jobs_one_active ON ingest_jobs (document_id) WHERE state IN ('queued', 'running');
CREATE INDEX ingest_jobs_claim_idx ON ingest_jobs (run_after) WHERE state IN ('queued', 'running');

-- Every change to the set of indexed chunks, in order; each API process replays it into its FAISS index.
CREATE TABLE vector_log (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    op          text NOT NULL CHECK (op IN ('add', 'remove', 'reset')),
    document_id uuid,
    chunk_ids   bigint[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Facts about the stored embeddings (model, dimension) that the index must agree with.
CREATE TABLE system_state (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
