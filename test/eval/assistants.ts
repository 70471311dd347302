// Each built-in assistant answers one of its own typical requests with the real chat model: a
// smoke run to read, not a score. Documents are real (a CUAD contract, a court opinion, an FDA label).
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Enclave } from '../../electron/core/app.ts';
import { ask, granter, routerCaller } from '../support/router-call.ts';

interface Request {
  text: string;
  /** A document to share with the conversation, relative to the corpus. */
  document?: string;
}

const REQUESTS: Record<string, Request> = {
  'notes-and-letters': {
    text:
      'Write a SOAP summary of this visit: 58-year-old woman, cough and fever for 4 days, no chest pain. Temperature 38.4 C, ' +
      'pulse 96, crackles at the right base. Started amoxicillin 500 mg three times daily for 5 days. Review in 48 hours if not better.',
  },
  'discharge-summary': { text: 'What does this label say about the recommended starting dose and how it is adjusted?', document: 'fda_drug_labels_spl/lipitor-orig.xml' },
  'patient-explanation': { text: 'Explain to the patient in plain words: "HbA1c 8.1%, above target. Increase metformin to 1000 mg twice daily. Recheck in 3 months."' },
  'contract-review': { text: 'Which law governs the agreement?', document: 'cuad_contracts/pdf/GULFSOUTHMEDICALSUPPLYINC_12_24_1997-EX-4-AFFILIATE_AGREEMENT.pdf' },
  'deposition-and-briefs': { text: 'What did the court decide, and why?', document: 'court_opinions/mo_ctapp_ED108783_opinion.pdf' },
  correspondence: { text: 'Draft a short letter to opposing counsel asking for a two-week extension to respond to the discovery requests.' },
};

export async function evalAssistants(enclave: Enclave, corpus: string): Promise<void> {
  const call = routerCaller(() => enclave);
  const grant = granter(() => enclave);
  const tmp = mkdtempSync(join(tmpdir(), 'enclave-eval-assistants-'));
  console.log('\n## Built-in assistants, one typical request each (SmolLM2-135M-Instruct)');
  for (const assistant of await call('assistants.list', {})) {
    const request = assistant.origin ? REQUESTS[assistant.origin.key] : undefined;
    if (!request) continue;
    const conversation = await call('conversations.create', { assistantId: assistant.id });
    if (request.document) {
      // XML labels are read as the HTML they are close to.
      let path = join(corpus, request.document);
      if (path.endsWith('.xml')) copyFileSync(path, (path = join(tmp, 'label.html')));
      const { document } = await call('documents.import', { file: grant(path) });
      await enclave.documents.whenIdle(document.id);
      await call('conversations.attachDocument', { conversationId: conversation.id, documentId: document.id });
    }
    const reply = await ask(enclave, conversation.id, request.text);
    const g = reply.grounding;
    const support = g ? ` · ${g.sentences.filter((s) => s.support === 'verified').length} of ${g.sentences.length} sentences verified, ${g.evidence.length} quoted passages` : '';
    console.log(`\n### ${assistant.name}${request.document ? ` (with ${request.document.split('/').pop()})` : ''}\n> ${request.text}\n\n${reply.content.replace(/\n+/g, ' ').slice(0, 500)}${reply.content.length > 500 ? '…' : ''}\n\n(${reply.tokenCount ?? 0} tokens${support}${reply.error ? `; error: ${reply.error}` : ''})`);
  }
}
