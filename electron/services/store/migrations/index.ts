import type { Database } from 'better-sqlite3';
import * as m0001 from './0001-initial.ts';
import * as m0002 from './0002-message-search.ts';
import * as m0003 from './0003-documents.ts';
import * as m0004 from './0004-summaries.ts';
import * as m0005 from './0005-conversation-documents.ts';
import * as m0006 from './0006-retrieval.ts';
import * as m0007 from './0007-search-statistics.ts';
import * as m0008 from './0008-attribution.ts';
import * as m0009 from './0009-assistants.ts';
import * as m0010 from './0010-adapters.ts';
import * as m0011 from './0011-preferred-models.ts';
import * as m0012 from './0012-tasks.ts';
import * as m0013 from './0013-chunk-spans.ts';
import * as m0014 from './0014-evaluations.ts';
import * as m0015 from './0015-reading-notices.ts';
import * as m0016 from './0016-cut-off-replies.ts';
import * as m0017 from './0017-model-kinds.ts';
import * as m0018 from './0018-audit-trail.ts';
import * as m0019 from './0019-app-lock.ts';
import * as m0020 from './0020-retention.ts';
import * as m0021 from './0021-keyword-postings.ts';
import * as m0022 from './0022-secure-delete.ts';
import * as m0023 from './0023-vector-clusters.ts';
import * as m0024 from './0024-document-deletions.ts';
import * as m0025 from './0025-vector-codes.ts';
import * as m0026 from './0026-answer-search.ts';

export interface Migration {
  version: number;
  name: string;
  up(db: Database): void;
}

/** In order; a new migration is a new file appended here, never an edit of a shipped one. */
export const migrations: readonly Migration[] = [m0001, m0002, m0003, m0004, m0005, m0006, m0007, m0008, m0009, m0010, m0011, m0012, m0013, m0014, m0015, m0016, m0017, m0018, m0019, m0020, m0021, m0022, m0023, m0024, m0025, m0026];
export const latestSchemaVersion = migrations[migrations.length - 1].version;
