// An assistant as one file, to carry it to another Enclave: its instructions and settings, and
// the LoRA adapters it applies named by their SHA-256 (never by file name). Data only: a file is
// validated field by field, and nothing in it can run.
import { z } from 'zod';
import { UserFacingError } from '../../contract/errors.ts';
import { SUMMARY_KINDS } from '../../contract/types.ts';
import { MAX_SYSTEM_PROMPT_CHARS } from './packs.ts';

export const ASSISTANT_FILE_FORMAT = 'enclave.assistant';
export const ASSISTANT_FILE_VERSION = 1;
/** An assistant file is small; a larger one is refused before it is parsed. */
export const MAX_ASSISTANT_FILE_CHARS = 1_000_000;

export const assistantFileSchema = z
  .object({
    format: z.literal(ASSISTANT_FILE_FORMAT),
    version: z.literal(ASSISTANT_FILE_VERSION, { message: `only version ${ASSISTANT_FILE_VERSION} is understood` }),
    exportedAt: z.string().max(40),
    assistant: z
      .object({
        name: z.string().trim().min(1).max(80),
        description: z.string().max(400),
        color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #2f7d6d'),
        domain: z.string().trim().min(1).max(40),
        systemPrompt: z.string().max(MAX_SYSTEM_PROMPT_CHARS),
        temperature: z.number().min(0).max(2).nullable(),
        topP: z.number().gt(0).max(1).nullable(),
        maxTokens: z.number().int().min(16).max(65_536).nullable(),
        answerOnlyFromDocuments: z.boolean(),
        summaryKinds: z.array(z.enum(SUMMARY_KINDS)).max(SUMMARY_KINDS.length),
        contextSize: z.number().int().min(512).max(262_144).nullable(),
        preferredModel: z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in hex'), name: z.string().max(200) }).strict().nullable(),
        origin: z
          .object({ packId: z.string().max(64), packName: z.string().max(80), key: z.string().max(64), modelHint: z.object({ parameters: z.string().max(40), kind: z.string().max(120), note: z.string().max(400).optional() }).strict() })
          .strict()
          .nullable(),
      })
      .strict(),
    adapters: z
      .array(z.object({ name: z.string().max(200), fileName: z.string().max(260), architecture: z.string().max(60), sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in hex'), scale: z.number().min(0).max(4) }).strict())
      .max(8),
  })
  .strict();

export type AssistantFile = z.output<typeof assistantFileSchema>;

/** Parses an assistant file; the error names the field at fault. */
export function parseAssistantFile(text: string): AssistantFile {
  if (text.length > MAX_ASSISTANT_FILE_CHARS) throw new UserFacingError('assistant/bad-file', 'This file is too large to be an Enclave assistant.');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserFacingError('assistant/bad-file', 'This file is not an Enclave assistant: it is not valid JSON.');
  }
  const result = assistantFileSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new UserFacingError('assistant/bad-file', `This file is not a valid Enclave assistant: ${issue.path.length ? issue.path.join('.') : 'the file'}: ${issue.message}.`);
  }
  return result.data;
}
