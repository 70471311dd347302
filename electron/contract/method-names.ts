// The method names alone, with no imports, so the sandboxed preload can expose one named
// function per method without bundling the schemas. methods.ts checks at compile time that
// this list and the contract agree exactly.
/** The preload's one call outside the contract: a dropped or picked File, resolved to a handle. */
export const IPC_GRANT_FILE = 'enclave:grant-file';

export const METHOD_NAMES = [
  'app.info',
  'settings.get',
  'settings.update',
  'models.list',
  'models.add',
  'models.remove',
  'models.activate',
  'models.unload',
  'engine.status',
  'conversations.list',
  'conversations.create',
  'conversations.get',
  'conversations.rename',
  'conversations.setSystemPrompt',
  'conversations.delete',
  'conversations.attachDocument',
  'conversations.detachDocument',
  'conversations.search',
  'documents.list',
  'documents.import',
  'documents.get',
  'documents.page',
  'documents.unlock',
  'documents.cancel',
  'documents.delete',
  'summaries.start',
  'summaries.list',
  'summaries.cancel',
  'summaries.delete',
  'collections.list',
  'collections.create',
  'collections.rename',
  'collections.delete',
  'collections.setMembership',
  'conversations.setCollections',
  'retrieval.status',
  'models.setEmbedding',
  'assistants.list',
  'assistants.templates',
  'assistants.create',
  'assistants.update',
  'assistants.duplicate',
  'assistants.delete',
  'assistants.export',
  'assistants.import',
  'adapters.list',
  'adapters.add',
  'adapters.remove',
  'chat.send',
  'chat.edit',
  'chat.regenerate',
  'chat.stop',
] as const;

export type MethodNameFromList = (typeof METHOD_NAMES)[number];

/** IPC channels of the Electron transport. */
export const IPC_CALL = 'enclave:call';
export const IPC_EVENT = 'enclave:event';
