// Sentence-level evidence and checks of meaning, on the words of real contracts: passages of the
// CUAD v1 contracts (The Atticus Project, CC BY 4.0; Hendrycks et al. 2021, arXiv:2103.06268),
// copied verbatim, and the labelled claim set made from them (test/fixtures/claims, see
// test/eval/claim-set.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { boilerplateKind, evidenceAnswers, questionConcepts, rankEvidence, subjectCovered, topEvidence, type EvidencePassage } from '../../electron/services/retrieval/evidence.ts';
import { meaningConflict } from '../../electron/services/retrieval/meaning.ts';
import { findSupport } from '../../electron/services/retrieval/attribution.ts';
import { documentNames } from '../../electron/services/retrieval/named-documents.ts';
import { evidenceExcerpts } from '../../electron/services/retrieval/grounder.ts';
import { groundAnswer } from '../../electron/services/retrieval/grounding.ts';
import type { StoredChunk } from '../../electron/services/store/retrieval-store.ts';
import { CORPUS, CORPUS_QUESTIONS } from '../fixtures/corpus.ts';

// DRIVENDELIVERIES_INC_05_22_2020-EX-10.4-CONSULTING_AGREEMENT (pages 1, 6 and 7 of 7).
const PREAMBLE =
  'Exhibit 10.4 CONSULTING AGREEMENT This Consulting Agreement ("Agreement") is made and entered into as of May 1, 2019 ("Effective Date") by and between Driven Deliveries, Inc. ("Company"), a Nevada corporation, and TruckThat LLC ("Consultant"). Company and Consultant shall sometimes be referred to herein singularly as a "Party" or collectively as the "Parties" to this Agreement. WHEREAS, the Company desires to retain Consultant as an independent contractor to perform consulting services for the Company, and Consultant is willing to perform such services on the terms set forth below.\n\nTruckThat LLC Consulting Agreement Page 1 of 7';
const LIABILITY_AND_LAW =
  "10. Limitation of Liability. IN NO EVENT SHALL COMPANY BE LIABLE TO CONSULTANT OR TO ANY OTHER PARTY FOR ANY INDIRECT, INCIDENTAL, SPECIAL OR CONSEQUENTIAL DAMAGES, OR DAMAGES FOR LOST PROFITS OR LOSS OF BUSINESS, HOWEVER CAUSED AND UNDER ANY THEORY OF LIABILITY. IN NO EVENT SHALL COMPANY'S AGGREGATE LIABILITY ARISING OUT OF OR IN CONNECTION WITH THIS AGREEMENT EXCEED THE AMOUNTS PAID BY COMPANY TO CONSULTANT UNDER THIS AGREEMENT FOR THE SERVICES, DELIVERABLES OR INVENTION GIVING RISE TO SUCH LIABILITY. 12. Miscellaneous. 12.1. Governing Law; Consent to Personal Jurisdiction. This Agreement shall be governed by the laws of the State of California, without regard to the conflicts of law provisions of any jurisdiction. To the extent that any lawsuit is permitted under this Agreement, the Parties hereby expressly consent to the personal and exclusive jurisdiction and venue of the state and federal courts located in the County of San Diego, California.\n\nTruckThat LLC Consulting Agreement Page 6 of 7";
const SIGNATURES =
  '12.9. Signatures. This Agreement may be signed in two counterparts, each of which shall be deemed an original, with the same force and effectiveness as though executed in a single document. IN WITNESS, the Parties have executed this Consulting Agreement as of the date first-written above. "Company" DRIVEN DELIVERIES, INC. By: /s/ Brian Hayek BRIAN HAYEK, President "Consultant" TruckThat LLC By: /s/ Christian L. Schenk CHRISTIAN L. SCHENK EIN: 81-4992583\n\nTruckThat LLC Consulting Agreement Page 7 of 7';
// WARNINGMANAGEMENTSERVICESINC_12_10_1999-EX-10-ENDORSEMENT_AGREEMENT.
const GRANT =
  '(a) Pey Dirt grants to Company the exclusive right and license to use Manning Identification within the Contract Territory during the Contract Period in connection with the advertisement and promotion by Company of Products in television, radio, print and point of purchase.';

const passage = (text: string, pageNumber: number, charStart = 0): EvidencePassage => ({ text, pageNumber, charStart, documentId: 'driven' });
const CONSULTING = [passage(PREAMBLE, 1), passage(SIGNATURES, 7), passage(LIABILITY_AND_LAW, 6)];
const shown = (passages: EvidencePassage[], e: { passage: number; quote: { start: number; end: number } }) => passages[e.passage].text.slice(e.quote.start, e.quote.end);

describe('evidence sentences', () => {
  it('a governing-law question gets the clause first, not the title block or the signatures that hold the question’s other words', () => {
    const best = topEvidence("Which state's law governs the consulting agreement?", CONSULTING, 3);
    expect(shown(CONSULTING, best[0])).toContain('This Agreement shall be governed by the laws of the State of California');
    expect(evidenceAnswers(best[0])).toBe(true);
    // The signature block holds "Consulting Agreement" too: marked, and ranked below every clause.
    const ranked = rankEvidence("Which state's law governs the consulting agreement?", CONSULTING);
    const signature = ranked.findIndex((e) => shown(CONSULTING, e).startsWith('IN WITNESS'));
    expect(ranked[signature].boilerplate).toBe('signature');
    const firstBoilerplate = ranked.findIndex((e) => e.boilerplate !== null);
    expect(firstBoilerplate).toBeGreaterThan(0);
    expect(ranked.slice(firstBoilerplate).every((e) => e.boilerplate !== null)).toBe(true);
    expect(ranked.filter((e) => shown(CONSULTING, e).includes('/s/')).every((e) => e.boilerplate === 'signature')).toBe(true);
  });

  it('a liability-cap question gets the cap (a clause in capitals is not a title)', () => {
    const best = topEvidence('Is there a cap on liability under the agreement?', CONSULTING, 3);
    // The clause headed "Limitation of Liability" first; its cap among the first two sentences shown.
    expect(shown(CONSULTING, best[0])).toMatch(/^10\. Limitation of Liability\. IN NO EVENT SHALL COMPANY BE LIABLE/);
    expect(best.slice(0, 2).some((e) => /^IN NO EVENT SHALL COMPANY'S AGGREGATE LIABILITY.*EXCEED THE AMOUNTS PAID/.test(shown(CONSULTING, e)))).toBe(true);
    expect(best.every((e) => e.boilerplate === null)).toBe(true);
  });

  it('knows title blocks, signature blocks, running footers, contents and redactions from real pages', () => {
    expect(boilerplateKind('IN WITNESS, the Parties have executed this Consulting Agreement as of the date first-written above. "Company" DRIVEN DELIVERIES, INC. By: /s/ Brian Hayek', false)).toBe('signature');
    expect(boilerplateKind('Exhibit 10.4 CONSULTING AGREEMENT', true)).toBe('title');
    expect(boilerplateKind('Source: AGAPE ATP CORP, 10-K/A, 12/2/2019', false)).toBe('header');
    expect(boilerplateKind('Article 12 Miscellaneous .......... 14', false)).toBe('contents');
    expect(boilerplateKind('The royalty shall be [***] percent of Net Sales [***] [***].', false)).toBeNull();
    expect(boilerplateKind('[***] [***] [***]', false)).toBe('redacted');
    // A clause in capitals, or a plain clause at the top of page 1, is not boilerplate.
    expect(boilerplateKind("IN NO EVENT SHALL COMPANY'S AGGREGATE LIABILITY EXCEED THE AMOUNTS PAID BY COMPANY TO CONSULTANT.", true)).toBeNull();
    expect(boilerplateKind('This Agreement shall be governed by the laws of the State of California.', true)).toBeNull();
    // The footer on every page ("TruckThat LLC Consulting Agreement Page 6 of 7") is found as repeated, and ranks last.
    const ranked = rankEvidence('What does the TruckThat consulting agreement say?', CONSULTING);
    const footers = ranked.filter((e) => /Page \d of 7/.test(shown(CONSULTING, e)) && shown(CONSULTING, e).length < 60);
    expect(footers.length).toBeGreaterThan(0);
    expect(footers.every((e) => e.boilerplate !== null)).toBe(true);
  });

  it('a question the passages cannot answer does not count as answered, and says which key term is missing', () => {
    const best = topEvidence("What is the hourly billing rate for Dr. Alvarez's expert testimony?", CONSULTING, 3);
    expect(evidenceAnswers(best[0])).toBe(false);
    expect(best[0]?.missing ?? ['hourli']).toEqual(expect.arrayContaining([expect.stringMatching(/^(hourli|bill|alvarez|expert|testimoni)/)]));
  });

  it('a clause cut at two starts by overlapping chunks is shown once', () => {
    const at = LIABILITY_AND_LAW.indexOf('12.1.');
    const overlapping = [passage(LIABILITY_AND_LAW, 6, 0), passage(LIABILITY_AND_LAW.slice(at + 6), 6, at + 6)];
    const best = topEvidence("Which state's law governs the consulting agreement?", overlapping, 3);
    expect(best.filter((e) => shown(overlapping, e).includes('governed by the laws of the State of California'))).toHaveLength(1);
  });

  it('a heading is read with the sentence it heads', () => {
    const text = '8. Assignment. Neither party may assign this Agreement without the prior written consent of the other party.';
    const best = topEvidence('Can the agreement be assigned?', [passage(text, 3)], 1);
    expect(shown([passage(text, 3)], best[0])).toBe(text);
  });

  it('the excerpts given to the model are the best sentences with a neighbour, still pointing at the page’s characters', () => {
    const chunks: StoredChunk[] = CONSULTING.map((p, i) => ({ id: i + 1, documentId: 'driven', documentTitle: 'Consulting Agreement', paginated: true, pageNumber: p.pageNumber, charStart: 1000, charEnd: 1000 + p.text.length, text: p.text }));
    const evidence = topEvidence("Which state's law governs the consulting agreement?", chunks, 2);
    const excerpts = evidenceExcerpts(chunks, evidence);
    const law = excerpts.find((x) => x.text.includes('governed by the laws of the State of California'))!;
    expect(law.pageNumber).toBe(6);
    expect(law.text.length).toBeLessThan(LIABILITY_AND_LAW.length);
    expect(LIABILITY_AND_LAW.slice(law.charStart - 1000, law.charEnd - 1000)).toBe(law.text);
  });
});

describe('what a question asks, and whether a sentence answers it', () => {
  it('termination “without cause” is not answered by termination for cause', () => {
    const forCause = passage('The Company may terminate this Agreement immediately for cause if Consultant is in breach of any material provision of this Agreement.', 5);
    expect(evidenceAnswers(topEvidence('Can a party terminate the agreement without cause?', [forCause], 1)[0])).toBe(false);
    const atWill = passage('Either Party may terminate this Agreement, with or without cause, upon giving the other party thirty (30) days prior written notice.', 5);
    expect(evidenceAnswers(topEvidence('Can a party terminate the agreement without cause?', [atWill], 1)[0])).toBe(true);
  });

  it('a question that asks how long is not answered by a sentence that gives no period', () => {
    const warranty = passage('Supplier warrants that the Products will conform to the Specifications and be free from defects in material and workmanship.', 4);
    const [best] = topEvidence('How long does the warranty last?', [warranty], 1);
    expect(best.lacksAsked).toBe('a period of time');
    expect(evidenceAnswers(best)).toBe(false);
    const period = passage('Supplier warrants that the Products will be free from defects for a period of twelve (12) months from delivery.', 4);
    expect(evidenceAnswers(topEvidence('How long does the warranty last?', [period], 1)[0])).toBe(true);
  });

  it('a question about the agreement itself (its date, its parties) is answered from the top of page 1', () => {
    const list = [passage(SIGNATURES, 7), passage(PREAMBLE, 1)];
    const ranked = topEvidence('What is the date of the agreement?', list, 1);
    expect(ranked[0].passage).toBe(1);
    expect(shown(list, ranked[0])).toContain('as of May 1, 2019');
    expect(evidenceAnswers(ranked[0])).toBe(true);
  });

  it('each question of the test corpus is answered by its own page, among all the pages of its document; a question about what no page says is not', () => {
    for (const q of CORPUS_QUESTIONS) {
      const doc = CORPUS.find((d) => d.key === q.key)!;
      const pages = doc.pages.map((text, i) => passage(text, i + 1));
      const [best] = topEvidence(q.question, pages, 1);
      expect(pages[best.passage].pageNumber, q.question).toBe(q.page);
      expect(evidenceAnswers(best), q.question).toBe(true);
    }
    const lease = CORPUS.find((d) => d.key === 'lease')!.pages.map((text, i) => passage(text, i + 1));
    expect(evidenceAnswers(topEvidence('What is the hourly rate for the landlord’s expert testimony?', lease, 1)[0])).toBe(false);
    expect(evidenceAnswers(topEvidence('How long is the warranty on the apartment’s appliances?', lease, 1)[0])).toBe(false);
  });

  it('a task cell’s quoted words must be about its field, not merely share a word with it', () => {
    expect(subjectCovered('Upon termination of this Agreement, the purchase price shall be paid within thirty days.', 'Termination for convenience').covered).toBe(false);
    expect(subjectCovered('Either party may terminate this Agreement at any time for any reason upon ninety days notice.', 'Termination for convenience').covered).toBe(true);
    expect(subjectCovered('This Agreement shall be governed by the laws of the State of Delaware.', 'Governing law').covered).toBe(true);
  });
});

describe('questions that name a document', () => {
  const documents = [
    { id: 'driven', title: 'Consulting Agreement', fileName: 'DRIVENDELIVERIES_INC_05_22_2020-EX-10.4-CONSULTING_AGREEMENT.pdf' },
    { id: 'warning', title: 'Endorsement Agreement', fileName: 'WARNINGMANAGEMENTSERVICESINC_12_10_1999-EX-10-ENDORSEMENT_AGREEMENT.pdf' },
    { id: 'agape', title: 'Supply Agreement', fileName: 'AgapeAtpCorp_20191202_10-KA_EX-10.1_11911128_EX-10.1_Supply_Agreement.pdf' },
  ];
  it('finds the document a question names, and leaves the naming words out of what is asked', () => {
    const question = 'Which law governs the Driven Deliveries consulting agreement?';
    const named = documentNames(question, documents);
    expect(named.ids).toEqual(['driven']);
    expect(named.words).toEqual(expect.arrayContaining(['driven', 'deliveries']));
    expect(questionConcepts(question, named.words).map((c) => c.term)).not.toContain('driven');
    expect(documentNames('Which law governs the agreement?', documents).ids).toEqual([]);
  });

  it('a party named in a document’s opening names it; a place the opening mentions does not', () => {
    const withOpenings = documents.map((d) => ({
      ...d,
      opening: d.id === 'driven' ? PREAMBLE : d.id === 'warning' ? 'This agreement is made between Warning Management Services, Inc., a Delaware corporation ("Company"), and PEY DIRT, INC. ("Pey Dirt").' : 'This Supply Agreement is made between Organic Preparations Inc. and Agape ATP International Holding Limited.',
    }));
    expect(documentNames('Under the TruckThat contract, who pays the expenses?', withOpenings).ids).toEqual(['driven']);
    expect(documentNames('Does Pey Dirt have to approve the merchandise?', withOpenings).ids).toEqual(['warning']);
    expect(documentNames('Which contracts are governed by Delaware law?', withOpenings).ids).toEqual([]);
  });
});

describe('checks of meaning', () => {
  it('a role reversed, a negation, a changed modality or number is not verified; the same meaning in other words is', () => {
    const passages = [GRANT];
    expect(findSupport('Pey Dirt grants to Company the exclusive right and license to use Manning Identification.', passages)).not.toBeNull();
    for (const wrong of [
      'Company grants to Pey Dirt the exclusive right and license to use Manning Identification.',
      'Pey Dirt does not grant to Company the right and license to use Manning Identification.',
    ]) {
      expect(findSupport(wrong, passages), wrong).toBeNull();
    }
    const term = 'The initial term of this Agreement shall be the sooner of six (6) months from the Effective Date. Either Party may terminate this Agreement, with or without cause, upon giving the other party thirty (30) days prior written notice.';
    expect(findSupport('Either Party may terminate this Agreement upon thirty days prior written notice.', [term])).not.toBeNull();
    expect(findSupport('Either Party may terminate this Agreement upon 30 days prior written notice.', [term])).not.toBeNull();
    expect(findSupport('Either Party shall terminate this Agreement upon thirty days prior written notice.', [term])).toBeNull();
    expect(findSupport('Either Party may terminate this Agreement upon sixty days prior written notice.', [term])).toBeNull();
    expect(findSupport('The initial term of this Agreement shall be six (6) years from the Effective Date.', [term])).toBeNull();
    expect(meaningConflict('Company grants Pey Dirt the right to use the Manning Identification.', GRANT)).toMatch(/someone else/);
    // "including but not limited to" negates nothing.
    const services = 'These Services shall include Marketing guidance and support, not limited to: Graphics, Web, Social.';
    expect(meaningConflict('The Services shall include marketing guidance and support.', services)).toBeNull();
  });

  it('a heading states nothing: it does not verify a claim that shares its words', () => {
    const headings = 'General Provisions. 9.1 Entire Agreement. This Agreement constitutes the entire agreement between the Parties.';
    expect(findSupport('The name of this agreement is the General Provisions of the Agreement.', [headings])).toBeNull();
    expect(findSupport('This Agreement constitutes the entire agreement between the Parties.', [headings])).not.toBeNull();
  });

  it('on the labelled claim set from real contracts, “verified” has precision ≥ 0.95 and misses no true claim', () => {
    const { cases } = JSON.parse(readFileSync(new URL('../fixtures/claims/cuad-claims.json', import.meta.url), 'utf8')) as { cases: { claim: string; passage: string; supported: boolean; kind: string }[] };
    expect(cases.length).toBeGreaterThanOrEqual(200);
    for (const kind of ['negation', 'modality', 'number', 'roles', 'reworded']) expect(cases.some((c) => c.kind === kind)).toBe(true);
    let tp = 0;
    let fp = 0;
    let fn = 0;
    const wrong: string[] = [];
    for (const c of cases) {
      const verified = findSupport(c.claim, [c.passage]) !== null;
      if (verified && c.supported) tp++;
      else if (verified) {
        fp++;
        wrong.push(`${c.kind}: ${c.claim}`);
      } else if (c.supported) fn++;
    }
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    expect(precision, wrong.join('\n')).toBeGreaterThanOrEqual(0.95);
    expect(recall).toBeGreaterThanOrEqual(0.98);
  });

  it('a grounded answer that reverses the roles is not shown as verified; the grant is shown as what the document says', () => {
    const chunk: StoredChunk = { id: 1, documentId: 'warning', documentTitle: 'Endorsement Agreement', paginated: true, pageNumber: 2, charStart: 0, charEnd: GRANT.length, text: GRANT };
    const r = groundAnswer('Company grants to Pey Dirt the exclusive right and license to use Manning Identification.', [chunk], 'Who grants the license to use Manning Identification?');
    expect(r.grounding.sentences[0].support).toBe('unsupported');
    expect(r.grounding.evidence).toHaveLength(1);
    expect(r.sources[0].quote).toContain('Pey Dirt grants to Company');
    expect(r.grounding.evidenceAnswers).toBe(true);
  });
});
