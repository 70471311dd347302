// Grounds a conversation's answers in its collections: retrieves passages for the question,
// gives them to the model as numbered sources, and checks what the answer cites. When nothing
// relevant is found, the answer says so plainly (unless the user allowed general answers).
import type { RetrievalStore } from '../store/retrieval-store.ts';
import { checkAnswer, GROUNDING_INSTRUCTIONS, sourcesBlock } from './grounding.ts';
import type { Retriever } from './retriever.ts';

export interface GroundingPlan {
  /** Replaces the model: the reply to give as is (nothing relevant was found). */
  refusal: string | null;
  /** Added to the system prompt for this answer. */
  context: string;
  /** Checks the finished answer, records its sources, and returns the text to show. */
  finish(messageId: string, answer: string): string;
}

export interface Grounder {
  prepare(conversationId: string, question: string): Promise<GroundingPlan | null>;
}

export function createGrounder(deps: {
  store: RetrievalStore;
  retriever: Retriever;
  allowGeneralAnswers: () => boolean;
}): Grounder {
  return {
    async prepare(conversationId, question) {
      const collectionIds = deps.store.conversationCollections(conversationId);
      if (collectionIds.length === 0) return null;
      const names = collectionIds.map((id) => deps.store.getCollection(id)?.name).filter(Boolean).map((n) => `“${n}”`).join(', ');
      const documents = deps.store.documentsIn(collectionIds);
      const plain = (text: string): GroundingPlan => ({ refusal: text, context: '', finish: (_id, answer) => answer });
      if (documents.length === 0) {
        return plain(`There are no readable documents in ${names} yet, so I cannot answer from them. Add documents to the collection, or wait until they have been read.`);
      }
      const result = await deps.retriever.search(question, collectionIds);
      if (!result.relevant || result.passages.length === 0) {
        if (!deps.allowGeneralAnswers()) {
          return plain(`I could not find anything about this in ${names}. The documents do not seem to cover it; try other words, or add the documents that do.`);
        }
        return {
          refusal: null,
          context: `Nothing in the user's documents (${names}) matched this question. Say so in your first sentence, then answer from general knowledge, and make clear that this part does not come from the documents.`,
          finish: (_id, answer) => answer,
        };
      }
      return {
        refusal: null,
        context: `${GROUNDING_INSTRUCTIONS}\n\n${sourcesBlock(result.passages)}`,
        finish(messageId, answer) {
          const checked = checkAnswer(answer, result.passages);
          deps.store.saveSources(messageId, checked.sources);
          if (checked.failures > 0) console.warn(`[grounding] ${checked.failures} citation(s) failed the check in message ${messageId}`);
          return checked.content;
        },
      };
    },
  };
}
