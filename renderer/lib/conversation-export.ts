// A conversation as a Markdown file a person keeps: who said what and when, which model answered,
// and for answers from documents, each sentence with its checked source or marked as not
// supported, and the sources quoted with their pages. Nothing is shown as supported that was not.
import type { Conversation, Message } from '../../electron/contract/types.ts';
import { attributedSegments } from './grounding.ts';

const STATUS_NOTE: Partial<Record<Message['status'], string>> = {
  stopped: 'Stopped before it was finished.',
  interrupted: 'Interrupted: Enclave closed while this reply was being written.',
  error: 'Failed.',
};

function when(ms: number): string {
  return new Date(ms).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

function reply(m: Message): string {
  if (!m.grounding) return m.content;
  return attributedSegments(m.content, m.grounding.sentences)
    .map((seg) => {
      if (seg.support === 'verified' && seg.source !== null) return `${seg.text} [${seg.source}]`;
      if (seg.support === 'unsupported') return `${seg.text} *(not in your documents)*`;
      return seg.text;
    })
    .join('');
}

export function conversationMarkdown(conversation: Conversation, messages: Message[], assistantName: string | null, now = Date.now()): string {
  const lines = [`# ${conversation.title}`, '', `Exported from Enclave on ${when(now)}${assistantName ? ` · assistant: ${assistantName}` : ''}.`];
  if (conversation.systemPrompt.trim()) lines.push('', `System prompt: ${conversation.systemPrompt.trim()}`);
  for (const m of messages) {
    lines.push('', m.role === 'user' ? `## You · ${when(m.createdAt)}` : `## ${m.modelName ?? 'Model'} · ${when(m.createdAt)}`, '');
    lines.push(m.role === 'user' ? m.content : reply(m));
    const notes: string[] = [];
    if (STATUS_NOTE[m.status]) notes.push(`${STATUS_NOTE[m.status]}${m.error ? ` ${m.error}` : ''}`);
    if (m.cutOff) notes.push('Stopped at the length limit: not finished.');
    if (m.grounding) {
      const claims = m.grounding.sentences.filter((s) => s.support === 'verified' || s.support === 'unsupported');
      const verified = claims.filter((s) => s.support === 'verified').length;
      if (claims.length) notes.push(`${verified} of ${claims.length} sentences supported by the documents (each checked against the words it cites).`);
    }
    if (notes.length) lines.push('', ...notes.map((n) => `> ${n}`));
    if (m.sources.length) {
      lines.push('', 'Sources:');
      for (const s of m.sources) lines.push(`- [${s.number}] ${s.documentTitle}, page ${s.pageNumber}${s.quote ? ` — “${s.quote}”` : ''}`);
    }
    if (m.citationFailures > 0) lines.push('', `> ${m.citationFailures} citation${m.citationFailures === 1 ? '' : 's'} could not be checked against the documents and ${m.citationFailures === 1 ? 'is' : 'are'} not listed.`);
  }
  return `${lines.join('\n')}\n`;
}

export function conversationFileName(conversation: Conversation): string {
  return `${conversation.title.replace(/[^\p{L}\p{N}\- ]+/gu, '_').trim() || 'Conversation'}.md`;
}
