import type { Database, Statement } from 'better-sqlite3';

/** Prepared statements kept by their SQL: a search that runs the same queries often prepares each once. */
export function statementCache(db: Database): (sql: string) => Statement {
  const statements = new Map<string, Statement>();
  return (sql) => {
    let s = statements.get(sql);
    if (!s) statements.set(sql, (s = db.prepare(sql)));
    return s;
  };
}
