// Errors a user can cause are values: a stable code and a sentence fit to show in the UI.

export type ErrorCode =
  | 'ipc/unknown-method'
  | 'ipc/invalid-input'
  | 'model/not-found'
  | 'model/unreadable'
  | 'model/not-gguf'
  | 'model/truncated'
  | 'model/unsupported'
  | 'model/load-failed'
  | 'model/not-loaded'
  | 'model/already-added'
  | 'model/bad-name'
  | 'conversation/not-found'
  | 'message/not-found'
  | 'message/not-editable'
  | 'chat/busy'
  | 'chat/nothing-to-regenerate'
  | 'chat/nothing-to-continue'
  | 'chat/too-long'
  | 'document/not-found'
  | 'document/unreadable'
  | 'document/unsupported'
  | 'document/too-large'
  | 'document/empty'
  | 'document/corrupt'
  | 'document/no-text'
  | 'document/wrong-password'
  | 'document/not-encrypted'
  | 'document/encrypted'
  | 'document/not-ready'
  | 'summary/not-found'
  | 'store/wrong-key'
  | 'store/damaged'
  | 'app/locked'
  | 'app/closing'
  | 'lock/wrong-passphrase'
  | 'lock/not-enabled'
  | 'store/wrong-passphrase'
  | 'store/weak-passphrase'
  | 'store/key-missing'
  | 'collection/not-found'
  | 'collection/name-taken'
  | 'retention/held'
  | 'retention/would-delete'
  | 'record/empty'
  | 'record/pdf-characters'
  | 'assistant/not-found'
  | 'assistant/template-not-found'
  | 'assistant/general'
  | 'assistant/bad-pack'
  | 'assistant/bad-file'
  | 'adapter/not-lora'
  | 'adapter/mismatch'
  | 'adapter/not-found'
  | 'file/not-granted'
  | 'task/not-found'
  | 'task/bad-schema'
  | 'task/busy'
  | 'task/empty-scope'
  | 'task/not-resumable'
  | 'task/cell-not-found'
  | 'eval/not-found'
  | 'eval/bad-csv'
  | 'eval/no-questions'
  | 'eval/bad-models'
  | 'eval/busy'
  | 'eval/not-resumable'
  | 'server/bad-url'
  | 'server/unreachable'
  | 'server/not-local'
  | 'server/unauthorized'
  | 'server/failed'
  | 'server/interrupted'
  | 'server/no-model'
  | 'server/in-use'
  | 'server/unsupported'
  | 'api/bad-port'
  | 'internal';

export interface AppError {
  code: ErrorCode;
  message: string;
}

/** Thrown by services for errors the user caused; the router turns it into an AppError value. */
export class UserFacingError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'UserFacingError';
    this.code = code;
  }
  toValue(): AppError {
    return { code: this.code, message: this.message };
  }
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: AppError };
