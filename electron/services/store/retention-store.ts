// What retention needs to decide, read in one go, and the clean-up after it deleted: FTS5's
// indexes rewritten without the deleted text and the write-ahead log emptied, so deleted words
// are not left in the files (secure_delete, set in db.ts, zeroes the freed pages).
import type { Database } from 'better-sqlite3';

export interface RetentionSnapshot {
  documents: { id: string; title: string; createdAt: number; parentId: string | null; collectionIds: string[] }[];
  conversations: { id: string; title: string; updatedAt: number; collectionIds: string[] }[];
}

export class RetentionStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  snapshot(): RetentionSnapshot {
    const documents = (
      this.#db
        .prepare(
          `SELECT d.id, d.title, d.created_at, d.parent_id, (SELECT json_group_array(cd.collection_id) FROM collection_documents cd WHERE cd.document_id = d.id) AS collections
           FROM documents d`,
        )
        .all() as { id: string; title: string; created_at: number; parent_id: string | null; collections: string }[]
    ).map((r) => ({ id: r.id, title: r.title, createdAt: r.created_at, parentId: r.parent_id, collectionIds: JSON.parse(r.collections) as string[] }));
    const conversations = (
      this.#db
        .prepare(
          `SELECT c.id, c.title, c.updated_at, json_group_array(cc.collection_id) FILTER (WHERE cc.collection_id IS NOT NULL) AS collections
           FROM conversations c LEFT JOIN conversation_collections cc ON cc.conversation_id = c.id
           WHERE c.hidden = 0 GROUP BY c.id`,
        )
        .all() as { id: string; title: string; updated_at: number; collections: string }[]
    ).map((r) => ({ id: r.id, title: r.title, updatedAt: r.updated_at, collectionIds: JSON.parse(r.collections) as string[] }));
    return { documents, conversations };
  }

  /** The collections a document is in, with those of the documents deleted with it (an e-mail's attachments). */
  collectionsOfDocumentTree(documentId: string): string[] {
    return this.#db
      .prepare(
        `WITH RECURSIVE tree(id) AS (SELECT ? UNION SELECT d.id FROM documents d JOIN tree ON d.parent_id = tree.id)
         SELECT DISTINCT cd.collection_id FROM collection_documents cd JOIN tree ON cd.document_id = tree.id`,
      )
      .pluck()
      .all(documentId) as string[];
  }

  collectionsOfDocument(documentId: string): string[] {
    return this.#db.prepare('SELECT collection_id FROM collection_documents WHERE document_id = ?').pluck().all(documentId) as string[];
  }

  collectionsOfConversation(conversationId: string): string[] {
    return this.#db.prepare('SELECT collection_id FROM conversation_collections WHERE conversation_id = ?').pluck().all(conversationId) as string[];
  }

  /** After deleting: rebuilds the touched full-text indexes (FTS5 keeps deleted words until a merge) and empties the WAL. */
  purge(touched: { documents: boolean; conversations: boolean }): void {
    if (touched.documents) {
      this.#db.exec(`INSERT INTO chunks_fts(chunks_fts) VALUES ('optimize'); INSERT INTO document_pages_fts(document_pages_fts) VALUES ('optimize');`);
    }
    if (touched.conversations) this.#db.exec(`INSERT INTO messages_fts(messages_fts) VALUES ('optimize');`);
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
  }
}
