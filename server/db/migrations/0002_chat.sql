-- Chat: conversations (owned by one user, optionally restricted to some documents) and their messages.

CREATE TABLE conversations (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title        text NOT NULL DEFAULT '',
    document_ids uuid[],              -- NULL: every document the owner may read
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- Listing: the owner's conversations, most recently active first.
CREATE INDEX conversations_owner_updated_idx ON conversations (owner, updated_at DESC, id);

CREATE TABLE messages (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id   uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role              text NOT NULL CHECK (role IN ('user', 'assistant')),
    content           text NOT NULL,
    mode              text CHECK (mode IN ('llm', 'extractive')),
    citations         jsonb NOT NULL DEFAULT '[]',
    query             text,             -- the standalone question searched (follow-ups rewritten)
    prompt_tokens     integer,
    completion_tokens integer,
    error_code        text,
    latency_ms        double precision,
    ttft_ms           double precision,
    created_at        timestamptz NOT NULL DEFAULT now()
);
-- A conversation's messages in order (and its history, newest first).
CREATE INDEX messages_conversation_idx ON messages (conversation_id, id);
