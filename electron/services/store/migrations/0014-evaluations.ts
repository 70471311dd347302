import type { Database } from 'better-sqlite3';

export const version = 14;
export const name = 'evaluations';

/**
 * Evaluation sets (an assistant's questions with what a right answer holds), runs comparing models
 * on them, and each model's answer to each question with its measured figures. A run keeps the
 * models it compared by name and SHA-256 (a result outlives the file); an answer is written whole
 * in one statement, so a run stopped by a crash resumes at the first question not answered.
 * A task evaluation instead runs a task again with each model and compares its table with one a
 * person corrected. Conversations get a `hidden` flag: the ones an evaluation asks its questions in are not listed.
 */
export function up(db: Database): void {
  db.exec(`
    ALTER TABLE conversations ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE eval_questions (
      id TEXT PRIMARY KEY,
      assistant_id TEXT NOT NULL REFERENCES assistants(id) ON DELETE CASCADE,
      position INTEGER NOT NULL,
      question TEXT NOT NULL,
      -- Words a right answer contains (all of them, any case), or a /pattern/; empty: not checked.
      expected TEXT NOT NULL DEFAULT '',
      -- Pages that hold the answer (JSON array of page numbers), in any of the assistant's documents.
      pages TEXT NOT NULL DEFAULT '[]',
      should_refuse INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX eval_questions_assistant ON eval_questions(assistant_id, position);

    CREATE TABLE eval_runs (
      id TEXT PRIMARY KEY,
      -- 'questions': the assistant's set asked of each model; 'task': a task run again by each model on
      -- the documents of a table a person corrected (reference_task_run_id), scored field by field.
      kind TEXT NOT NULL DEFAULT 'questions' CHECK (kind IN ('questions', 'task')),
      reference_task_run_id TEXT,
      task_name TEXT,
      assistant_id TEXT NOT NULL,
      assistant_name TEXT NOT NULL,
      -- The models compared, in order (JSON: id, name, sha256, file size), and whether adapters were applied.
      models TEXT NOT NULL,
      with_adapters INTEGER NOT NULL,
      -- The questions as they were when the run started (JSON), so later edits do not change its results.
      questions TEXT NOT NULL,
      settings TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'cancelled', 'interrupted', 'failed')),
      error TEXT,
      created_at INTEGER NOT NULL,
      finished_at INTEGER
    ) STRICT;

    CREATE TABLE eval_answers (
      run_id TEXT NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
      model_index INTEGER NOT NULL,
      question_id TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('answered', 'failed')),
      answer TEXT NOT NULL,
      -- The answer's checked sources and sentence marks (JSON), as the chat shows them.
      sources TEXT NOT NULL,
      grounding TEXT,
      citation_failures INTEGER NOT NULL,
      first_token_ms REAL,
      tokens_per_second REAL,
      token_count INTEGER,
      duration_ms REAL,
      peak_memory_bytes INTEGER,
      error TEXT,
      PRIMARY KEY (run_id, model_index, question_id)
    ) STRICT;

    -- The task run each model made for a task evaluation (kept in Tasks, where its table can be opened).
    CREATE TABLE eval_task_runs (
      run_id TEXT NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,
      model_index INTEGER NOT NULL,
      task_run_id TEXT NOT NULL,
      PRIMARY KEY (run_id, model_index)
    ) STRICT;
  `);
}
