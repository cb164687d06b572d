/**
 * Start-up checks for Sherpa-ONNX model directories. No model ships with npm or Debian, so a site
 * brings its own; when something is missing the error names exactly which file or directory, in
 * which model directory, instead of the native library's "Please check your config!".
 *
 * Layouts recognised (the names sherpa-onnx's released models use; `.int8.onnx` preferred when
 * `preferInt8` and present):
 * - STT transducer: `encoder*.onnx`, `decoder*.onnx`, `joiner*.onnx`, `tokens.txt`
 * - STT paraformer: `encoder*.onnx`, `decoder*.onnx`, `tokens.txt`
 * - STT zipformer2 CTC: `*ctc*.onnx` (or `model*.onnx`), `tokens.txt`
 * - TTS vits/piper: one `*.onnx`, `tokens.txt`, and `espeak-ng-data/` (or `lexicon.txt`)
 * - TTS kokoro: `model*.onnx` (or one `*.onnx`), `voices.bin`, `tokens.txt`, `espeak-ng-data/`
 */
import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../core/errors.ts';

export type SherpaSttModelType = 'transducer' | 'paraformer' | 'zipformer2_ctc';
export type SherpaTtsModelType = 'vits' | 'kokoro';

/** A model directory that cannot be used; `missing` lists each absent file/dir pattern. */
export class ModelDirError extends ConfigError {
  readonly modelDir: string;
  readonly missing: readonly string[];
  constructor(configKey: string, modelDir: string, missing: readonly string[], detail?: string) {
    super(
      detail !== undefined
        ? [`${configKey}: ${detail} (${modelDir})`]
        : missing.map((m) => `${configKey}: missing ${m} in model directory ${modelDir}`),
    );
    this.name = 'ModelDirError';
    this.modelDir = modelDir;
    this.missing = missing;
  }
}

export interface SherpaSttModelFiles {
  readonly type: SherpaSttModelType;
  readonly tokens: string;
  readonly encoder?: string;
  readonly decoder?: string;
  readonly joiner?: string;
  readonly model?: string;
}

export interface SherpaTtsModelFiles {
  readonly type: SherpaTtsModelType;
  readonly model: string;
  readonly tokens: string;
  /** espeak-ng-data directory (absent for lexicon-based vits). */
  readonly dataDir?: string;
  readonly lexicon?: string;
  /** kokoro only. */
  readonly voices?: string;
}

interface DirListing {
  readonly files: ReadonlySet<string>;
  readonly dirs: ReadonlySet<string>;
}

function list(configKey: string, dir: string): DirListing {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new ModelDirError(configKey, dir, [dir], 'not a directory');
    names = readdirSync(dir);
  } catch (err) {
    if (err instanceof ModelDirError) throw err;
    throw new ModelDirError(configKey, dir, [dir], 'model directory does not exist or cannot be read');
  }
  const files = new Set<string>();
  const dirs = new Set<string>();
  for (const n of names) {
    try {
      const st = statSync(join(dir, n));
      // Empty files are what an interrupted copy or a Git LFS checkout without LFS leaves behind.
      if (st.isFile() && st.size > 0) files.add(n);
      else if (st.isDirectory()) dirs.add(n);
    } catch {
      // A dangling link is as good as missing.
    }
  }
  return { files, dirs };
}

/** The file matching `re`, preferring (or avoiding) `.int8.onnx` variants; undefined when none. */
function pick(files: ReadonlySet<string>, re: RegExp, preferInt8: boolean): string | undefined {
  const hits = [...files].filter((f) => re.test(f)).sort();
  if (hits.length === 0) return undefined;
  const int8 = hits.filter((f) => f.endsWith('.int8.onnx'));
  const full = hits.filter((f) => !f.endsWith('.int8.onnx'));
  return (preferInt8 ? (int8[0] ?? full[0]) : (full[0] ?? int8[0])) as string;
}

/**
 * onnxruntime inside sherpa-onnx-node aborts the whole process (an uncaught C++ exception) on a
 * file that is not an ONNX protobuf, so obvious impostors are caught here: a serialized ModelProto
 * starts with field 1 (ir_version, varint), tag byte 0x08. A Git LFS pointer or an HTML error
 * page saved as .onnx does not. (A truncated real model still passes; see the README.)
 */
function notOnnx(path: string): boolean {
  const head = Buffer.alloc(1);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    return readSync(fd, head, 0, 1, 0) !== 1 || head[0] !== 0x08;
  } catch {
    return true;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `missing`-style entries for resolved .onnx files that are not ONNX models. */
function impostors(paths: ReadonlyArray<string | undefined>): string[] {
  return paths
    .filter((p): p is string => p !== undefined && p.endsWith('.onnx') && notOnnx(p))
    .map((p) => `a valid ONNX model: ${p} is not one (corrupt, or a Git LFS pointer)`);
}

const ENCODER = /^encoder.*\.onnx$/;
const DECODER = /^decoder.*\.onnx$/;
const JOINER = /^joiner.*\.onnx$/;
const CTC = /(^|[-_.])ctc.*\.onnx$|^model.*\.onnx$/;

/**
 * Check an online (streaming) recogniser's directory and resolve its files.
 * Throws `ModelDirError` naming every missing file.
 */
export function validateSttModelDir(
  modelDir: string,
  options: { type?: SherpaSttModelType; preferInt8?: boolean; configKey?: string } = {},
): SherpaSttModelFiles {
  const key = options.configKey ?? 'providers.sherpa.sttModelDir';
  const int8 = options.preferInt8 ?? true;
  const { files } = list(key, modelDir);
  const f = (re: RegExp): string | undefined => {
    const hit = pick(files, re, int8);
    return hit === undefined ? undefined : join(modelDir, hit);
  };
  const encoderName = pick(files, ENCODER, int8);
  const type: SherpaSttModelType | undefined =
    options.type ??
    (pick(files, JOINER, int8) !== undefined
      ? 'transducer'
      : encoderName !== undefined || pick(files, DECODER, int8) !== undefined
        ? // Paraformer ships plain encoder.onnx; zipformer transducers name theirs encoder-epoch-..-chunk-...
          encoderName !== undefined && !/^encoder(\.int8)?\.onnx$/.test(encoderName)
          ? 'transducer'
          : 'paraformer'
        : pick(files, CTC, int8) !== undefined
          ? 'zipformer2_ctc'
          : undefined);
  const tokens = files.has('tokens.txt') ? join(modelDir, 'tokens.txt') : undefined;
  if (type === undefined) {
    throw new ModelDirError(key, modelDir, [
      'an online model: joiner*.onnx + encoder*.onnx + decoder*.onnx (transducer), encoder*.onnx + decoder*.onnx (paraformer) or *ctc*.onnx (zipformer2 CTC)',
      ...(tokens === undefined ? ['tokens.txt'] : []),
    ]);
  }
  const need: Array<[string, string | undefined]> = [];
  if (type === 'transducer') need.push(['encoder*.onnx', f(ENCODER)], ['decoder*.onnx', f(DECODER)], ['joiner*.onnx', f(JOINER)]);
  else if (type === 'paraformer') need.push(['encoder*.onnx', f(ENCODER)], ['decoder*.onnx', f(DECODER)]);
  else need.push(['*ctc*.onnx (or model.onnx)', f(CTC)]);
  need.push(['tokens.txt', tokens]);
  const missing = need.filter(([, p]) => p === undefined).map(([name]) => `${name} (for a ${type} model)`);
  missing.push(...impostors(need.map(([, p]) => p)));
  if (missing.length > 0) throw new ModelDirError(key, modelDir, missing);
  const [first, second, third] = need.map(([, p]) => p as string);
  if (type === 'transducer') return { type, encoder: first, decoder: second, joiner: third, tokens: tokens as string };
  if (type === 'paraformer') return { type, encoder: first, decoder: second, tokens: tokens as string };
  return { type, model: first, tokens: tokens as string };
}

/** Check an offline TTS model directory (vits/piper or kokoro) and resolve its files. */
export function validateTtsModelDir(
  modelDir: string,
  options: { type?: SherpaTtsModelType; preferInt8?: boolean; configKey?: string } = {},
): SherpaTtsModelFiles {
  const key = options.configKey ?? 'providers.sherpa.ttsModelDir';
  const int8 = options.preferInt8 ?? false;
  const { files, dirs } = list(key, modelDir);
  const type: SherpaTtsModelType = options.type ?? (files.has('voices.bin') ? 'kokoro' : 'vits');
  const onnx = [...files].filter((n) => n.endsWith('.onnx'));
  const modelName = pick(files, /^model.*\.onnx$/, int8) ?? (onnx.length === 1 ? onnx[0] : pick(files, /\.onnx$/, int8));
  const missing: string[] = [];
  if (modelName === undefined) missing.push('the model *.onnx file');
  if (!files.has('tokens.txt')) missing.push('tokens.txt');
  const hasEspeak = dirs.has('espeak-ng-data');
  // sherpa reads espeak-ng-data/phontab first; an empty or partial copy fails there.
  const espeakComplete = hasEspeak && list(key, join(modelDir, 'espeak-ng-data')).files.has('phontab');
  // vits: lexicon.txt; kokoro multi-lang: lexicon-us-en.txt, lexicon-zh.txt..., given comma-separated.
  const lexicons = [...files].filter((n) => /^lexicon.*\.txt$/.test(n)).sort();
  const lexicon = lexicons.length > 0 ? lexicons.map((n) => join(modelDir, n)).join(',') : undefined;
  if (type === 'kokoro') {
    if (!files.has('voices.bin')) missing.push('voices.bin (for a kokoro model)');
    if (!hasEspeak) missing.push('espeak-ng-data/ directory (for a kokoro model)');
  } else if (!hasEspeak && lexicon === undefined) {
    missing.push('espeak-ng-data/ directory (or lexicon.txt) (for a vits/piper model)');
  }
  if (hasEspeak && !espeakComplete) missing.push('espeak-ng-data/phontab (espeak-ng-data is incomplete)');
  if (modelName !== undefined) missing.push(...impostors([join(modelDir, modelName)]));
  if (missing.length > 0) throw new ModelDirError(key, modelDir, missing);
  return {
    type,
    model: join(modelDir, modelName as string),
    tokens: join(modelDir, 'tokens.txt'),
    ...(hasEspeak ? { dataDir: join(modelDir, 'espeak-ng-data') } : {}),
    ...(lexicon !== undefined ? { lexicon } : {}),
    ...(type === 'kokoro' ? { voices: join(modelDir, 'voices.bin') } : {}),
  };
}
