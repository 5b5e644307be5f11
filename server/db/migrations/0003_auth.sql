-- Sessions (rotating refresh tokens, revoked access tokens) and sharing (collections).

-- One row per refresh token ever issued, stored as its SHA-256. A login starts a family; every
-- refresh marks its token used and issues a child in the same family. Presenting a used token
-- again (reuse) revokes the whole family.
CREATE TABLE refresh_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  text NOT NULL UNIQUE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   uuid NOT NULL,
    parent_id   bigint REFERENCES refresh_tokens (id) ON DELETE SET NULL,
    access_jti  text NOT NULL,            -- the access token issued with it, revoked with the family
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

-- Access tokens revoked before their expiry (logout, reuse, disabled account); pruned once expired.
CREATE TABLE revoked_tokens (
    jti        text PRIMARY KEY,
    user_id    uuid,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revoked_tokens_expires_idx ON revoked_tokens (expires_at);

-- A user's named set of their own documents, shared read-only with other users.
CREATE TABLE collections (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX collections_owner_name_key ON collections (owner, lower(name));

CREATE TABLE collection_documents (
    collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    document_id   uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    added_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection_id, document_id)
);
CREATE INDEX collection_documents_document_idx ON collection_documents (document_id);

CREATE TABLE collection_shares (
    collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection_id, user_id)
);
CREATE INDEX collection_shares_user_idx ON collection_shares (user_id);
