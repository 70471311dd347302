// Assistant packs: data, never code. A pack is JSON validated here; a wrong field or an unknown
// format version is refused with a message that names the field. The built-in packs live in
// resources/assistants/.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserFacingError } from '../../contract/errors.ts';
import { SUMMARY_KINDS } from '../../contract/types.ts';

export const PACK_FORMAT = 'enclave.assistant-pack';
export const PACK_VERSION = 1;
export const MAX_SYSTEM_PROMPT_CHARS = 20_000;

export const assistantTemplateSchema = z
  .object({
    key: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a short lowercase key (letters, digits, dashes)'),
    name: z.string().trim().min(1).max(80),
    description: z.string().max(400).default(''),
    color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #2f7d6d'),
    systemPrompt: z.string().max(MAX_SYSTEM_PROMPT_CHARS),
    temperature: z.number().min(0).max(2).optional(),
    topP: z.number().gt(0).max(1).optional(),
    maxTokens: z.number().int().min(16).max(65_536).optional(),
    answerOnlyFromDocuments: z.boolean().default(false),
    summaryKinds: z.array(z.enum(SUMMARY_KINDS)).max(SUMMARY_KINDS.length).default([]),
  })
  .strict();

const keyPattern = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a short lowercase key (letters, digits, dashes)');
const hintList = z.array(z.string().trim().min(2).max(80)).max(40).default([]);

/**
 * A task's field. Packs declare fields, never raw JSON Schema: Enclave builds the schema that
 * generation is constrained to (every value with its quoted source), so a pack cannot ask for a
 * structure the grammar cannot express.
 */
export const taskFieldSchema = z
  .object({
    key: keyPattern,
    label: z.string().trim().min(1).max(60),
    description: z.string().trim().min(1).max(300),
    hints: hintList,
    /** What a value must look like to be verified: a date names a day, month or year; a number (a period, a dose) has a number. */
    kind: z.enum(['text', 'date', 'number']).default('text'),
  })
  .strict();

export const taskTemplateSchema = z
  .object({
    key: keyPattern,
    name: z.string().trim().min(1).max(80),
    description: z.string().max(400).default(''),
    output: z.enum(['record', 'list', 'prose']),
    instructions: z.string().trim().min(1).max(4000),
    /** The table's columns (record and list). Prose has one: its points. */
    fields: z.array(taskFieldSchema).max(16).default([]),
    itemHints: hintList,
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.output !== 'prose' && t.fields.length === 0) ctx.addIssue({ code: 'custom', path: ['fields'], message: `a ${t.output} task needs at least one field` });
    if (t.output === 'prose' && t.fields.length > 0) ctx.addIssue({ code: 'custom', path: ['fields'], message: 'a prose task has no fields (its points are its column)' });
  });

export const packSchema = z
  .object({
    format: z.literal(PACK_FORMAT),
    version: z.literal(PACK_VERSION, { message: `only version ${PACK_VERSION} is understood` }),
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/),
    name: z.string().trim().min(1).max(80),
    description: z.string().max(600).default(''),
    domain: z.string().trim().min(1).max(40),
    modelHint: z
      .object({ parameters: z.string().max(40), kind: z.string().max(120), note: z.string().max(400).optional() })
      .strict(),
    assistants: z.array(assistantTemplateSchema).min(1).max(50),
    tasks: z.array(taskTemplateSchema).max(50).default([]),
  })
  .strict();

export type AssistantPack = z.output<typeof packSchema>;
export type AssistantTemplate = z.output<typeof assistantTemplateSchema>;
export type TaskTemplate = z.output<typeof taskTemplateSchema>;

/** Validates a pack; the error names the field at fault ("assistants.2.color: …"). */
export function parsePack(json: unknown, source: string): AssistantPack {
  const result = packSchema.safeParse(json);
  if (result.success) {
    const keys = result.data.assistants.map((a) => a.key);
    const repeated = keys.find((k, i) => keys.indexOf(k) !== i);
    if (repeated) throw new UserFacingError('assistant/bad-pack', `${source} is not a valid assistant pack: the key “${repeated}” is used twice.`);
    const taskKeys = result.data.tasks.map((t) => t.key);
    const repeatedTask = taskKeys.find((k, i) => taskKeys.indexOf(k) !== i);
    if (repeatedTask) throw new UserFacingError('assistant/bad-pack', `${source} is not a valid assistant pack: the task key “${repeatedTask}” is used twice.`);
    result.data.tasks.forEach((task, t) => {
      const fieldKeys = task.fields.map((f) => f.key);
      const twice = fieldKeys.findIndex((k, i) => fieldKeys.indexOf(k) !== i);
      if (twice >= 0) throw new UserFacingError('assistant/bad-pack', `${source} is not a valid assistant pack: tasks.${t}.fields.${twice}.key: “${fieldKeys[twice]}” is used twice.`);
      // "quote" names the source sentence in the structured output; a field cannot take it.
      const reserved = fieldKeys.findIndex((k) => k === 'quote');
      if (reserved >= 0) throw new UserFacingError('assistant/bad-pack', `${source} is not a valid assistant pack: tasks.${t}.fields.${reserved}.key: “quote” is reserved for the source.`);
    });
    return result.data;
  }
  const issue = result.error.issues[0];
  const field = issue.path.length ? issue.path.join('.') : 'the file';
  throw new UserFacingError('assistant/bad-pack', `${source} is not a valid assistant pack: ${field}: ${issue.message}.`);
}

/** The built-in packs folder: resources/assistants, found from here (sources or built files). */
export function builtinPacksDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'resources', 'assistants');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('resources/assistants was not found beside the application');
}

/** Every pack in a folder; one that is broken is reported and left out, never fatal. */
export function loadPacks(dir: string, onError: (message: string) => void = (m) => console.warn(`[assistants] ${m}`)): AssistantPack[] {
  const packs: AssistantPack[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    try {
      packs.push(parsePack(JSON.parse(readFileSync(join(dir, file), 'utf8')), file));
    } catch (e) {
      onError(e instanceof SyntaxError ? `${file} is not valid JSON: ${e.message}` : (e as Error).message);
    }
  }
  return packs;
}
