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
 *
 * An encoder and a decoder without a joiner is either a paraformer or a transducer whose joiner is
 * missing (newer transducers are named plain encoder.onnx/decoder.onnx/joiner.onnx too). The
 * encoder decides: sherpa-onnx's streaming paraformer encoders carry `lfr_window_size` in their ONNX
 * metadata (sherpa reads it at load), transducer encoders do not. Without that metadata the
 * directory is taken for a transducer and the missing joiner is named, with the way out (set the
 * type) in the message. A bare `model*.onnx` is taken for a zipformer2 CTC model only when nothing
 * in the directory points to another layout (a TTS voice, an offline FunASR/SenseVoice model);
 * otherwise the error names the ambiguity instead of letting sherpa fail on the wrong model.
 * - TTS vits/piper: one `*.onnx`, `tokens.txt`, and `espeak-ng-data/` (or `lexicon.txt`)
 * - TTS kokoro: `model*.onnx` (or one `*.onnx`), `voices.bin`, `tokens.txt`, `espeak-ng-data/`
 */
import { closeSync, fstatSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
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

/**
 * Keys of an ONNX file's `metadata_props` (ModelProto field 14), read without loading the model:
 * the top-level protobuf fields are walked with positional reads, skipping the graph by its length.
 * Undefined when the file cannot be read or is not a well-formed ModelProto.
 */
export function onnxMetadataKeys(path: string): ReadonlySet<string> | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(10);
    let pos = 0;
    const file = fd;
    const varint = (): number | undefined => {
      const n = readSync(file, head, 0, 10, pos);
      let value = 0;
      let scale = 1;
      for (let i = 0; i < n; i++) {
        const b = head[i] as number;
        value += (b & 0x7f) * scale;
        scale *= 128;
        if ((b & 0x80) === 0) {
          pos += i + 1;
          return value;
        }
      }
      return undefined;
    };
    const keys = new Set<string>();
    for (let fields = 0; pos < size; fields++) {
      if (fields > 100_000) return undefined;
      const tag = varint();
      if (tag === undefined) return undefined;
      const field = Math.floor(tag / 8);
      const wire = tag % 8;
      if (wire === 0) {
        if (varint() === undefined) return undefined;
      } else if (wire === 1) {
        pos += 8;
      } else if (wire === 5) {
        pos += 4;
      } else if (wire === 2) {
        const len = varint();
        if (len === undefined || pos + len > size) return undefined;
        // StringStringEntryProto { string key = 1; string value = 2; }; values (cmvn vectors) can be long.
        if (field === 14 && len <= 1 << 20) {
          const entry = Buffer.alloc(len);
          readSync(file, entry, 0, len, pos);
          if (entry[0] === 0x0a) {
            let klen = 0;
            let scale = 1;
            let i = 1;
            for (; i < entry.length && i < 6; i++) {
              const b = entry[i] as number;
              klen += (b & 0x7f) * scale;
              scale *= 128;
              if ((b & 0x80) === 0) break;
            }
            keys.add(entry.toString('utf8', i + 1, Math.min(entry.length, i + 1 + klen)));
          }
        }
        pos += len;
      } else {
        return undefined;
      }
    }
    return keys;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const ENCODER = /^encoder.*\.onnx$/;
const DECODER = /^decoder.*\.onnx$/;
const JOINER = /^joiner.*\.onnx$/;
const CTC_NAMED = /(^|[-_.])ctc.*\.onnx$/;
const CTC = /(^|[-_.])ctc.*\.onnx$|^model.*\.onnx$/;
/** Paraformer (and other FunASR-exported) models declare their low-frame-rate window; transducers do not. */
const PARAFORMER_KEY = 'lfr_window_size';

/** Files and directories that belong to a layout other than a streaming CTC recogniser. */
function otherLayoutSigns(dir: string, files: ReadonlySet<string>, dirs: ReadonlySet<string>, model: string): string[] {
  const signs: string[] = [];
  const tts = [
    ...(files.has('voices.bin') ? ['voices.bin'] : []),
    ...(dirs.has('espeak-ng-data') ? ['espeak-ng-data/'] : []),
    ...[...files].filter((f) => /^lexicon.*\.txt$/.test(f) || f.endsWith('.onnx.json')).sort(),
  ];
  if (tts.length > 0) signs.push(`${tts.join(', ')} (a TTS voice)`);
  const offline = ['am.mvn', 'config.yaml'].filter((f) => files.has(f));
  if (offline.length > 0) signs.push(`${offline.join(', ')} (an offline FunASR/SenseVoice model)`);
  if (onnxMetadataKeys(join(dir, model))?.has(PARAFORMER_KEY) === true) signs.push(`${PARAFORMER_KEY} in ${model}'s metadata (a paraformer-style model)`);
  const bases = new Set([...files].filter((f) => /^model.*\.onnx$/.test(f)).map((f) => f.replace(/\.int8\.onnx$|\.onnx$/, '')));
  if (bases.size > 1) signs.push(`several different model*.onnx files (${[...bases].sort().join(', ')})`);
  return signs;
}

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
  const { files, dirs } = list(key, modelDir);
  const f = (re: RegExp): string | undefined => {
    const hit = pick(files, re, int8);
    return hit === undefined ? undefined : join(modelDir, hit);
  };
  const encoderName = pick(files, ENCODER, int8);
  const decoderName = pick(files, DECODER, int8);
  /** Set when a plain encoder/decoder pair without a joiner was taken for a transducer. */
  let transducerByDefault = false;
  let type: SherpaSttModelType | undefined = options.type;
  if (type === undefined) {
    if (pick(files, JOINER, int8) !== undefined) type = 'transducer';
    else if (encoderName !== undefined || decoderName !== undefined) {
      if (encoderName !== undefined && onnxMetadataKeys(join(modelDir, encoderName))?.has(PARAFORMER_KEY) === true) type = 'paraformer';
      else {
        type = 'transducer';
        transducerByDefault = encoderName === undefined || /^encoder(\.int8)?\.onnx$/.test(encoderName);
      }
    } else if (pick(files, CTC_NAMED, int8) !== undefined) type = 'zipformer2_ctc';
    else {
      const model = pick(files, CTC, int8);
      if (model !== undefined) {
        const signs = otherLayoutSigns(modelDir, files, dirs, model);
        if (signs.length > 0) {
          throw new ModelDirError(
            key,
            modelDir,
            [],
            `${model} could be a streaming zipformer2 CTC model, but the directory also has ${signs.join('; ')}: ` +
              `point at a streaming recogniser's directory, or set the model type to zipformer2_ctc to use ${model} anyway`,
          );
        }
        type = 'zipformer2_ctc';
      }
    }
  }
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
  const missing = need
    .filter(([, p]) => p === undefined)
    .map(([name]) =>
      transducerByDefault && name === 'joiner*.onnx'
        ? `${name} (for a transducer model; an encoder and a decoder without a joiner could also be a paraformer, ` +
          `but ${encoderName ?? 'the encoder'} has no ${PARAFORMER_KEY} metadata: set the model type to paraformer if it is one)`
        : `${name} (for a ${type} model)`,
    );
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
