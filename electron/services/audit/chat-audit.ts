// What a reply puts in the audit trail: the question (who asked what, in which conversation), the
// passages the model was given (document and page), and the answer: which model wrote it, and which
// of its citations were checked against the page.
import type { AnswerSearch, Message } from '../../contract/types.ts';
import type { GroundedAnswer } from '../retrieval/grounding.ts';
import type { AuditLog } from '../store/audit-log.ts';

export interface ChatAudit {
  asked(e: { conversationId: string; conversationTitle: string; assistantId: string; messageId: string; question: string; evaluation: boolean; continued: boolean }): void;
  retrieved(e: { conversationId: string; messageId: string; passages: { documentId: string; documentTitle: string; pageNumber: number }[]; search?: AnswerSearch | null }): void;
  answered(e: { conversationId: string; message: Message; grounded: GroundedAnswer | null; fromDocuments: boolean; refused: boolean }): void;
}

const clip = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

export function chatAudit(audit: AuditLog): ChatAudit {
  return {
    asked({ conversationId, conversationTitle, assistantId, messageId, question, evaluation, continued }) {
      const what = continued ? 'Continued a reply to' : evaluation ? 'Evaluation asked' : 'Asked';
      audit.record('question.asked', `${what}: ${clip(question.replace(/\s+/g, ' ').trim(), 160)}`, {
        conversationId,
        conversationTitle,
        assistantId,
        replyMessageId: messageId,
        question,
        evaluation,
      });
    },
    retrieved({ conversationId, messageId, passages, search }) {
      const pages = passages.map((p) => `${p.documentTitle} p. ${p.pageNumber}`);
      audit.record('passages.retrieved', passages.length ? `Retrieved ${plural(passages.length, 'passage')}: ${clip(pages.join('; '), 300)}` : 'No passage from the documents was given to the model', {
        conversationId,
        replyMessageId: messageId,
        passages: passages.map((p) => ({ documentId: p.documentId, document: p.documentTitle, page: p.pageNumber })),
        search: search ?? null,
      });
    },
    answered({ conversationId, message, grounded, fromDocuments, refused }) {
      const verified = grounded?.sources.filter((s) => s.verified && s.number < 1000) ?? [];
      const sentences = grounded?.grounding.sentences ?? [];
      const unsupported = sentences.filter((s) => s.support === 'unsupported').length;
      const model = message.modelName ?? null;
      const status = message.status === 'complete' ? (message.cutOff ? 'cut off at the length limit' : 'complete') : message.status;
      const summary = refused
        ? `Answered without the model: ${clip(message.content, 160)}`
        : `${model ?? 'The model'} answered (${status})${
            fromDocuments ? `: ${plural(verified.length, 'checked source')}, ${plural(unsupported, 'sentence')} without support` : ', not from documents'
          }`;
      audit.record('answer.produced', summary, {
        conversationId,
        messageId: message.id,
        model,
        status: message.status,
        cutOff: message.cutOff ?? false,
        error: message.error ?? null,
        fromDocuments,
        refusedWithoutModel: refused,
        answer: message.content,
        verifiedCitations: verified.map((s) => ({ documentId: s.documentId, document: s.documentTitle, page: s.pageNumber, quote: s.quote })),
        sentences: sentences.length,
        unsupportedSentences: unsupported,
        failedCitations: grounded?.failures ?? 0,
      });
    },
  };
}
