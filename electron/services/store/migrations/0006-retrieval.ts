import type { Database } from 'better-sqlite3';

export const version = 6;
export const name = 'retrieval';

/**
 * Collections of documents, the chunks retrieval searches (page and character offsets kept, as
 * GPT4All's LocalDocs keeps page and lines), their BM25 index, their embeddings, and the sources
 * each grounded answer cited, with the outcome of checking them.
 */
export function up(db: Database): void {
  db.exec(`
    CREATE TABLE collections (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      created_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE collection_documents (
      collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
      document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
      PRIMARY KEY (collection_id, document_id)
    ) STRICT;
    CREATE INDEX collection_documents_document ON collection_documents(document_id);
    CREATE TABLE conversation_collections (
      conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
      collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
      PRIMARY KEY (conversation_id, collection_id)
    ) STRICT;

    CREATE TABLE chunks (
      id INTEGER PRIMARY KEY,
      document_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
      page_number INTEGER NOT NULL,
      char_start INTEGER NOT NULL,
      char_end INTEGER NOT NULL,
      text TEXT NOT NULL
    ) STRICT;
    CREATE INDEX chunks_document ON chunks(document_id, page_number);
    CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content = 'chunks', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2');
    CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
      INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
      INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;

    -- One embedding per chunk for the current embedding model (model and dimension in settings);
    -- changing the model empties this table and re-embeds: vectors of two models never mix.
    CREATE TABLE chunk_embeddings (
      chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
      embedding BLOB NOT NULL
    ) STRICT;

    -- Documents whose chunks are written (chunking is per document, in one transaction).
    ALTER TABLE documents ADD COLUMN chunked INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE message_sources (
      message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
      number INTEGER NOT NULL,
      chunk_id INTEGER,
      document_id TEXT NOT NULL,
      document_title TEXT NOT NULL,
      page_number INTEGER NOT NULL,
      char_start INTEGER NOT NULL,
      char_end INTEGER NOT NULL,
      passage TEXT NOT NULL,
      quote TEXT,
      verified INTEGER NOT NULL,
      failure TEXT,
      PRIMARY KEY (message_id, number)
    ) STRICT;
  `);
}
