// What a conversation's assistant asks of a reply, made ready to use: its preferred model loaded
// (when it is in the library), its adapters checked against the model that will answer, and its
// generation settings over the app's.
import { UserFacingError } from '../../contract/errors.ts';
import type { ReplyOverride, ReplyProfile } from '../chat/chat-service.ts';
import type { AdapterLibrary } from '../engine/adapter-library.ts';
import type { Engine } from '../engine/engine.ts';
import type { ModelLibrary } from '../engine/model-library.ts';
import type { ModelStore } from '../store/model-store.ts';
import type { SettingsStore } from '../store/settings-store.ts';
import type { AssistantService } from './assistant-service.ts';

export function replyProfiles(deps: {
  assistants: AssistantService;
  models: ModelLibrary;
  modelStore: ModelStore;
  adapters: AdapterLibrary;
  engine: Engine;
  settings: SettingsStore;
}): (conversationId: string, override?: ReplyOverride) => Promise<ReplyProfile> {
  return async (conversationId, override) => {
    const assistant = deps.assistants.forConversation(conversationId);
    const settings = deps.settings.get();
    // The model an evaluation asks for; else its preferred model, when it is in the library and
    // another is loaded; otherwise the active one.
    const wanted = override ? deps.modelStore.get(override.modelId) : assistant.preferredModel ? deps.modelStore.bySha256(assistant.preferredModel.sha256) : null;
    if (deps.engine.onServer) {
      // The office server answers with its own model: an evaluation of this computer's models
      // cannot run, and an assistant's adapters cannot be applied there (said, never dropped).
      if (override) throw new UserFacingError('server/in-use', 'Answers come from the office server: evaluations compare the models on this computer. Choose “This computer” under Inference in Settings to run one.');
      if (assistant.adapters.length > 0) throw new UserFacingError('server/unsupported', `“${assistant.name}” applies LoRA adapters, which the office server cannot apply. Remove them from the assistant, or choose “This computer” under Inference in Settings.`);
    } else if (wanted && deps.engine.loadedModelId !== wanted.id) await deps.models.activate(wanted.id);
    const model = deps.engine.loadedModelId ? deps.modelStore.get(deps.engine.loadedModelId) : null;
    const withAdapters = override?.withAdapters ?? true;
    return {
      instructions: assistant.systemPrompt,
      settings: deps.assistants.generationSettings(assistant, settings),
      onlyFromDocuments: assistant.answerOnlyFromDocuments ? assistant.name : null,
      adapters: model && withAdapters ? await deps.adapters.resolve(assistant.adapters, model) : [],
      contextSize: assistant.contextSize ?? settings.contextSize,
    };
  };
}
