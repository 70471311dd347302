import type { Database } from 'better-sqlite3';

export const version = 20;
export const name = 'retention';

/**
 * Retention per collection: documents deleted so many days after they were added, conversations
 * so many days after their last message (NULL: kept forever), and a legal hold that suspends
 * every deletion of what the collection holds.
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE collections ADD COLUMN document_days INTEGER;
    ALTER TABLE collections ADD COLUMN conversation_days INTEGER;
    ALTER TABLE collections ADD COLUMN hold_reason TEXT;
    ALTER TABLE collections ADD COLUMN hold_since INTEGER;
  `);
}
