// Checks that a file is a usable GGUF model before anything is stored, and reads what the
// library shows about it. Every failure is a UserFacingError with a sentence for the UI.
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { GgmlType, GgufInsights, readGgufFileInfo, type GgufFileInfo } from 'node-llama-cpp';
import { UserFacingError } from '../../contract/errors.ts';
import type { ModelInfo, ModelKind } from '../../contract/types.ts';

export type InspectedModel = Omit<ModelInfo, 'id' | 'addedAt' | 'sha256'>;

/** Embedding architectures (encoders): they make vectors for search, they do not chat. */
const EMBEDDING_ARCHITECTURES = new Set(['bert', 'nomic-bert', 'nomic-bert-moe', 'jina-bert-v2', 'jina-bert-v3', 't5encoder', 'modern-bert', 'neo-bert', 'eurobert']);

/** llama.cpp's LLAMA_POOLING_TYPE_RANK: a classifier head scores a (question, passage) pair. */
const POOLING_RANK = 4;

/**
 * A chat model, an embedding model or a reranking model, from its metadata: rank pooling or a
 * classifier head make a reranker (a cross-encoder); another pooling type or non-causal attention
 * make vectors.
 */
export function modelKind(info: GgufFileInfo): ModelKind {
  const architecture = String(info.metadata.general?.architecture ?? '');
  const own = (info.metadata as Record<string, unknown>)[architecture] as { pooling_type?: number; attention?: { causal?: boolean } } | undefined;
  if (own?.pooling_type === POOLING_RANK) return 'reranker';
  if ((info.fullTensorInfo ?? []).some((t) => t.name === 'cls.output.weight')) return 'reranker';
  if (EMBEDDING_ARCHITECTURES.has(architecture)) return 'embedding';
  if (typeof own?.pooling_type === 'number' && own.pooling_type > 0) return 'embedding';
  if (own?.attention?.causal === false) return 'embedding';
  return 'chat';
}

const GGUF_MAGIC = Buffer.from('GGUF', 'ascii');

// llama.cpp's LLAMA_FTYPE values, for models that declare general.file_type.
const FILE_TYPE_NAMES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 7: 'Q8_0', 8: 'Q5_0', 9: 'Q5_1', 10: 'Q2_K', 11: 'Q3_K_S', 12: 'Q3_K_M',
  13: 'Q3_K_L', 14: 'Q4_K_S', 15: 'Q4_K_M', 16: 'Q5_K_S', 17: 'Q5_K_M', 18: 'Q6_K', 19: 'IQ2_XXS', 20: 'IQ2_XS',
  21: 'Q2_K_S', 22: 'IQ3_XS', 23: 'IQ3_XXS', 24: 'IQ1_S', 25: 'IQ4_NL', 26: 'IQ3_S', 27: 'IQ3_M', 28: 'IQ2_S',
  29: 'IQ2_M', 30: 'IQ4_XS', 31: 'IQ1_M', 32: 'BF16', 36: 'TQ1_0', 37: 'TQ2_0', 38: 'MXFP4',
};

function quantizationName(info: GgufFileInfo, insights: GgufInsights): string {
  const fileType = (info.metadata.general as { file_type?: number } | undefined)?.file_type;
  if (typeof fileType === 'number' && FILE_TYPE_NAMES[fileType]) return FILE_TYPE_NAMES[fileType];
  const dominant = insights.dominantTensorType;
  if (dominant !== undefined && GgmlType[dominant]) return GgmlType[dominant];
  return 'unknown';
}

async function readMagic(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await handle.read(buf, 0, 4, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** A file that is a readable GGUF, with its header; every failure is a sentence for the UI. */
async function openGguf(path: string, what: 'model' | 'adapter'): Promise<{ fileName: string; size: number; info: GgufFileInfo }> {
  const fileName = basename(path);
  const noun = what === 'model' ? 'model' : 'LoRA adapter';
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new UserFacingError('model/unreadable', `“${fileName}” is not a file.`);
    size = s.size;
  } catch (e) {
    if (e instanceof UserFacingError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserFacingError('model/not-found', `“${fileName}” was not found. Was it moved or deleted?`);
    throw new UserFacingError('model/unreadable', `“${fileName}” cannot be read (${code ?? 'error'}).`);
  }

  let magic: Buffer;
  try {
    magic = await readMagic(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserFacingError('model/unreadable', `“${fileName}” cannot be read (${code ?? 'error'}). Check its permissions.`);
  }
  if (magic.length < 4 || !magic.equals(GGUF_MAGIC)) {
    throw new UserFacingError(
      'model/not-gguf',
      `“${fileName}” is not a GGUF ${noun}. Enclave runs ${what === 'model' ? 'models' : 'adapters'} in the GGUF format (files ending in .gguf).`,
    );
  }

  let info: GgufFileInfo;
  try {
    info = await readGgufFileInfo(path, { readTensorInfo: true, ignoreKeys: [] });
  } catch (e) {
    throw new UserFacingError(
      'model/truncated',
      `“${fileName}” looks like a GGUF ${noun} but its header cannot be read: it may be incomplete or damaged (${(e as Error).message}).`,
    );
  }
  return { fileName, size, info };
}

function generalType(info: GgufFileInfo): string {
  return String((info.metadata.general as { type?: string } | undefined)?.type ?? 'model');
}

export async function inspectModelFile(path: string): Promise<InspectedModel> {
  const { fileName, size, info } = await openGguf(path, 'model');
  if (generalType(info) === 'adapter') {
    throw new UserFacingError('model/unsupported', `“${fileName}” is a LoRA adapter, not a model. Add it under LoRA adapters, then give it to an assistant.`);
  }
  const insights = await GgufInsights.from(info);
  const dataStart = info.infoEndOffset ?? 0;
  if (size < dataStart + insights.modelSize) {
    throw new UserFacingError(
      'model/truncated',
      `“${fileName}” is incomplete: it holds ${size.toLocaleString('en')} bytes but its header describes at least ` +
        `${(dataStart + insights.modelSize).toLocaleString('en')}. The download or copy may have been cut short.`,
    );
  }
  const architecture = String(info.metadata.general?.architecture ?? 'unknown');
  if (!insights.isSupportedByLlamaCpp) {
    throw new UserFacingError('model/unsupported', `“${fileName}” uses the “${architecture}” architecture, which this version of Enclave cannot run.`);
  }
  const general = info.metadata.general as { name?: string; size_label?: string } | undefined;
  return {
    path,
    fileName,
    name: general?.name?.trim() || fileName.replace(/\.gguf$/i, ''),
    architecture,
    parameterCount: insights.totalParameters,
    quantization: quantizationName(info, insights),
    contextLength: insights.trainContextSize ?? null,
    fileSize: size,
    kind: modelKind(info),
  };
}

export interface InspectedAdapter {
  path: string;
  fileName: string;
  name: string;
  architecture: string;
  fileSize: number;
}

/** The weights a LoRA adapter changes: base tensor name → its [rows-in, cols-out] as the adapter expects them. */
function adapterTargets(info: GgufFileInfo): Map<string, [number, number]> {
  const tensors = info.fullTensorInfo ?? info.tensorInfo ?? [];
  const byName = new Map(tensors.map((t) => [t.name, t.dimensions.map(Number)]));
  const out = new Map<string, [number, number]>();
  for (const [name, dims] of byName) {
    if (!name.endsWith('.lora_a')) continue;
    const base = name.slice(0, -'.lora_a'.length);
    const b = byName.get(`${base}.lora_b`);
    if (b) out.set(base, [dims[0], b[1]]);
  }
  return out;
}

/** Checks that a file is a whole GGUF LoRA adapter, and reads what the library shows about it. */
export async function inspectAdapterFile(path: string): Promise<InspectedAdapter> {
  const { fileName, size, info } = await openGguf(path, 'adapter');
  const adapterType = (info.metadata as { adapter?: { type?: string } }).adapter?.type;
  if (generalType(info) !== 'adapter' || adapterType !== 'lora') {
    throw new UserFacingError('adapter/not-lora', `“${fileName}” is not a LoRA adapter${generalType(info) === 'adapter' ? ` (it is a “${adapterType}” adapter)` : ' (it looks like a model: add it under Models)'}.`);
  }
  const tensors = info.fullTensorInfo ?? info.tensorInfo ?? [];
  const end = Math.max(0, ...tensors.map((t) => Number(t.offset) + Number(t.dimensions.reduce((a, b) => Number(a) * Number(b), 1)) * (t.ggmlType === GgmlType.F16 ? 2 : 4)));
  if (size < (info.infoEndOffset ?? 0) + end) {
    throw new UserFacingError('model/truncated', `“${fileName}” is incomplete: the copy or download was cut short.`);
  }
  if (adapterTargets(info).size === 0) throw new UserFacingError('adapter/not-lora', `“${fileName}” holds no LoRA weights.`);
  const general = info.metadata.general as { name?: string; architecture?: string } | undefined;
  return { path, fileName, name: general?.name?.trim() || fileName.replace(/\.gguf$/i, ''), architecture: String(general?.architecture ?? 'unknown'), fileSize: size };
}

/**
 * Checks that an adapter was made for this model: the same architecture, and for every weight it
 * changes, a weight of the same shape in the model. Throws a sentence that says what differs.
 */
export async function checkAdapterFits(adapter: { path: string; name: string }, model: { path: string; name: string }): Promise<void> {
  const [a, m] = await Promise.all([openGguf(adapter.path, 'adapter'), openGguf(model.path, 'model')]);
  const archA = String(a.info.metadata.general?.architecture ?? 'unknown');
  const archM = String(m.info.metadata.general?.architecture ?? 'unknown');
  if (archA !== archM) {
    throw new UserFacingError('adapter/mismatch', `“${adapter.name}” was made for a ${archA} model; “${model.name}” is ${archM}. Choose an adapter made for this model.`);
  }
  const modelTensors = new Map((m.info.fullTensorInfo ?? m.info.tensorInfo ?? []).map((t) => [t.name, t.dimensions.map(Number)]));
  for (const [name, [rowsIn, colsOut]] of adapterTargets(a.info)) {
    const w = modelTensors.get(name);
    if (!w || w[0] !== rowsIn || (w[1] ?? 1) !== colsOut) {
      throw new UserFacingError(
        'adapter/mismatch',
        `“${adapter.name}” was made for a model of another size: it changes ${name} as ${rowsIn}×${colsOut}, which “${model.name}” ${w ? `has as ${w[0]}×${w[1] ?? 1}` : 'does not have'}.`,
      );
    }
  }
}
