-- BM25 statistics kept with the chunks, so a full-text query reads its terms' document frequencies
-- instead of counting them over every matching chunk (server/db/search.py).
--
-- lexeme_stats: per lexeme of the stored `tsv`, how many chunks hold it (df).
-- chunk_stats:  one row, the number of chunks and the sum of their token counts (mean length).
--
-- They count every chunk in the table, whatever its document's status or owner: corpus-wide
-- statistics, as a search engine keeps per shard. Queries still return only readable chunks of
-- ready documents.
--
-- Kept by triggers, so every writer is counted: ingestion's inserts, reprocessing's deletes, the
-- cascade from `DELETE FROM documents`, a bulk COPY (one aggregate over the transition table, not
-- one upsert per row). Each change first locks lexeme_stats in SHARE ROW EXCLUSIVE mode, which
-- conflicts with itself but not with reads: two workers upserting overlapping lexemes in different
-- orders would otherwise deadlock. Writers of chunks are serialised from that point to their commit;
-- their transactions are short (a batch of chunks, or a delete).

-- No chunk may be written between the backfill below and the triggers' creation.
LOCK TABLE document_chunks IN SHARE ROW EXCLUSIVE MODE;

-- Scoring reads each candidate chunk's tsvector. Kept in the row (MAIN: compressed if need be, out of
-- line only as a last resort) while the text and the embedding move out: a candidate costs one heap
-- fetch, not a TOAST lookup besides (about half the time per candidate at 100,000 chunks). Applies
-- to chunks written from now on.
ALTER TABLE document_chunks ALTER COLUMN tsv SET STORAGE MAIN;

CREATE TABLE lexeme_stats (
    lexeme text PRIMARY KEY,
    df     integer NOT NULL
);

CREATE TABLE chunk_stats (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    chunks   bigint NOT NULL,
    tokens   bigint NOT NULL
);

INSERT INTO chunk_stats (chunks, tokens)
SELECT count(*), coalesce(sum(token_count), 0) FROM document_chunks;

INSERT INTO lexeme_stats (lexeme, df)
SELECT u.lexeme, count(*) FROM document_chunks c, unnest(tsvector_to_array(c.tsv)) u(lexeme) GROUP BY u.lexeme;

-- Inserted or deleted chunks, from the statement's transition table (`new_rows` or `old_rows`).
CREATE FUNCTION chunk_stats_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed text := CASE TG_OP WHEN 'INSERT' THEN 'new_rows' ELSE 'old_rows' END;
    sign integer := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
    touched boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT FROM %I)', changed) INTO touched;
    IF NOT touched THEN
        RETURN NULL;  -- e.g. clearing a document's chunks before its first ingestion: take no lock
    END IF;
    LOCK TABLE lexeme_stats IN SHARE ROW EXCLUSIVE MODE;
    EXECUTE format(
        'INSERT INTO lexeme_stats AS s (lexeme, df)'
        ' SELECT u.lexeme, %s * count(*) FROM %I c, unnest(tsvector_to_array(c.tsv)) u(lexeme)'
        '  GROUP BY u.lexeme ORDER BY u.lexeme'
        ' ON CONFLICT (lexeme) DO UPDATE SET df = s.df + excluded.df', sign, changed);
    IF sign < 0 THEN
        EXECUTE format(
            'DELETE FROM lexeme_stats s USING (SELECT DISTINCT u.lexeme FROM %I c,'
            ' unnest(tsvector_to_array(c.tsv)) u(lexeme)) g WHERE s.lexeme = g.lexeme AND s.df <= 0', changed);
    END IF;
    EXECUTE format(
        'UPDATE chunk_stats SET chunks = chunks + %s * (SELECT count(*) FROM %I),'
        ' tokens = tokens + %s * (SELECT coalesce(sum(token_count), 0) FROM %I)', sign, changed, sign, changed);
    RETURN NULL;
END $$;

-- A chunk's text or length changed in place (nothing does this today; kept correct anyway).
CREATE FUNCTION chunk_stats_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE lexeme_stats IN SHARE ROW EXCLUSIVE MODE;
    INSERT INTO lexeme_stats AS s (lexeme, df)
    SELECT lexeme, sum(d) FROM (SELECT unnest(tsvector_to_array(NEW.tsv)) AS lexeme, 1 AS d
                                UNION ALL SELECT unnest(tsvector_to_array(OLD.tsv)), -1) x
     GROUP BY lexeme HAVING sum(d) <> 0 ORDER BY lexeme
    ON CONFLICT (lexeme) DO UPDATE SET df = s.df + excluded.df;
    DELETE FROM lexeme_stats WHERE lexeme = ANY(tsvector_to_array(OLD.tsv)) AND df <= 0;
    UPDATE chunk_stats SET tokens = tokens + NEW.token_count - OLD.token_count;
    RETURN NULL;
END $$;

CREATE FUNCTION chunk_stats_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE lexeme_stats IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM lexeme_stats;
    UPDATE chunk_stats SET chunks = 0, tokens = 0;
    RETURN NULL;
END $$;

CREATE TRIGGER document_chunks_stats_insert AFTER INSERT ON document_chunks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION chunk_stats_changed();
CREATE TRIGGER document_chunks_stats_delete AFTER DELETE ON document_chunks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION chunk_stats_changed();
CREATE TRIGGER document_chunks_stats_update AFTER UPDATE OF text, token_count ON document_chunks
    FOR EACH ROW EXECUTE FUNCTION chunk_stats_updated();
CREATE TRIGGER document_chunks_stats_truncate AFTER TRUNCATE ON document_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION chunk_stats_truncated();
