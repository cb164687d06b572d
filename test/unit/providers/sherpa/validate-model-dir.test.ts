import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../src/core/errors.ts';
import { ModelDirError, onnxMetadataKeys, validateSttModelDir, validateTtsModelDir } from '../../../../src/providers/sherpa/validate-model-dir.ts';
import { sileroModelPath } from '../../../../src/vad/silero-model.ts';

/** The first bytes of a serialized ONNX ModelProto (field 1, ir_version = 7). */
const ONNX_HEAD = Buffer.from([0x08, 0x07, 0x12, 0x00]);

/** A ModelProto with metadata_props (field 14) entries, as sherpa-onnx's exported models carry them. */
function onnxWithMetadata(meta: Record<string, string>): Buffer {
  const str = (field: number, v: string): Buffer => {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([Buffer.from([(field << 3) | 2, b.length]), b]);
  };
  const entries = Object.entries(meta).map(([k, v]) => {
    const body = Buffer.concat([str(1, k), str(2, v)]);
    return Buffer.concat([Buffer.from([0x72, body.length]), body]);
  });
  return Buffer.concat([ONNX_HEAD, ...entries]);
}
/** A streaming paraformer encoder: sherpa-onnx reads lfr_window_size and friends from it. */
const PARAFORMER_ENCODER = onnxWithMetadata({ vocab_size: '8404', lfr_window_size: '7', lfr_window_shift: '6' });
/** A zipformer transducer encoder. */
const TRANSDUCER_ENCODER = onnxWithMetadata({ model_type: 'zipformer2', decode_chunk_len: '32' });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * A temp model dir with these files (non-empty) and sub-directories (names ending in '/'). A name
 * ending in `#paraformer` or `#transducer` is written (without the suffix) as such an encoder.
 */
function modelDir(entries: string[], empty: string[] = []): string {
  const d = mkdtempSync(join(tmpdir(), 'sherpa-model-'));
  dirs.push(d);
  for (const e of entries) {
    if (e.endsWith('#paraformer')) writeFileSync(join(d, e.slice(0, -'#paraformer'.length)), PARAFORMER_ENCODER);
    else if (e.endsWith('#transducer')) writeFileSync(join(d, e.slice(0, -'#transducer'.length)), TRANSDUCER_ENCODER);
    else if (e === 'espeak-ng-data/') {
      mkdirSync(join(d, e), { recursive: true });
      writeFileSync(join(d, e, 'phontab'), 'x');
    } else if (e.endsWith('/')) mkdirSync(join(d, e), { recursive: true });
    else writeFileSync(join(d, e), e.endsWith('.onnx') ? ONNX_HEAD : 'x');
  }
  for (const e of empty) writeFileSync(join(d, e), '');
  return d;
}

function errorOf(fn: () => unknown): ModelDirError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelDirError);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ModelDirError).code).toBe('CR_CONFIG_INVALID');
    return e as ModelDirError;
  }
  throw new Error('expected a ModelDirError');
}

const T = ['encoder-epoch-99-avg-1-chunk-16-left-128.onnx', 'decoder-epoch-99-avg-1-chunk-16-left-128.onnx', 'joiner-epoch-99-avg-1-chunk-16-left-128.onnx'];

describe('validateSttModelDir', () => {
  it('detects a transducer and prefers int8 files', () => {
    const d = modelDir([...T, 'encoder-epoch-99-avg-1-chunk-16-left-128.int8.onnx', 'tokens.txt']);
    const f = validateSttModelDir(d);
    expect(f).toEqual({
      type: 'transducer',
      encoder: join(d, 'encoder-epoch-99-avg-1-chunk-16-left-128.int8.onnx'),
      decoder: join(d, T[1]!),
      joiner: join(d, T[2]!),
      tokens: join(d, 'tokens.txt'),
    });
    expect(validateSttModelDir(d, { preferInt8: false }).encoder).toBe(join(d, T[0]!));
  });

  it('detects paraformer and zipformer2 CTC', () => {
    expect(validateSttModelDir(modelDir(['encoder.int8.onnx#paraformer', 'decoder.int8.onnx', 'tokens.txt'])).type).toBe('paraformer');
    const ctc = modelDir(['ctc-epoch-20-avg-1-chunk-16-left-128.onnx', 'tokens.txt']);
    expect(validateSttModelDir(ctc)).toEqual({ type: 'zipformer2_ctc', model: join(ctc, 'ctc-epoch-20-avg-1-chunk-16-left-128.onnx'), tokens: join(ctc, 'tokens.txt') });
  });

  it('names the missing joiner and tokens of a transducer', () => {
    const d = modelDir([T[0]!, T[1]!]);
    const e = errorOf(() => validateSttModelDir(d, { type: 'transducer' }));
    expect(e.missing).toEqual(['joiner*.onnx (for a transducer model)', 'tokens.txt (for a transducer model)']);
    expect(e.message).toContain(`missing joiner*.onnx (for a transducer model) in model directory ${d}`);
  });

  it('a zipformer-named encoder without a joiner is reported as a transducer missing its joiner', () => {
    const e = errorOf(() => validateSttModelDir(modelDir([T[0]!, T[1]!, 'tokens.txt'])));
    expect(e.missing).toEqual(['joiner*.onnx (for a transducer model)']);
  });

  it('names the missing decoder of a paraformer', () => {
    const e = errorOf(() => validateSttModelDir(modelDir(['encoder.onnx#paraformer', 'tokens.txt'])));
    expect(e.missing).toEqual(['decoder*.onnx (for a paraformer model)']);
  });

  it('names the CTC model when the type is given but the file is absent', () => {
    const e = errorOf(() => validateSttModelDir(modelDir(['tokens.txt']), { type: 'zipformer2_ctc' }));
    expect(e.missing).toEqual(['*ctc*.onnx (or model.onnx) (for a zipformer2_ctc model)']);
  });

  it('treats empty files (an LFS pointer-less checkout, a cut copy) as missing', () => {
    const e = errorOf(() => validateSttModelDir(modelDir(['encoder.onnx#paraformer', 'decoder.onnx'], ['tokens.txt'])));
    expect(e.missing).toEqual(['tokens.txt (for a paraformer model)']);
  });

  it('names a .onnx file that is not an ONNX model (a Git LFS pointer) instead of letting onnxruntime abort', () => {
    const d = modelDir(['encoder.onnx#paraformer', 'tokens.txt']);
    writeFileSync(join(d, 'decoder.onnx'), 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n');
    const e = errorOf(() => validateSttModelDir(d));
    expect(e.missing).toEqual([`a valid ONNX model: ${join(d, 'decoder.onnx')} is not one (corrupt, or a Git LFS pointer)`]);
    const t = modelDir(['tokens.txt', 'espeak-ng-data/']);
    writeFileSync(join(t, 'voice.onnx'), '<html>404</html>');
    expect(errorOf(() => validateTtsModelDir(t)).missing).toEqual([`a valid ONNX model: ${join(t, 'voice.onnx')} is not one (corrupt, or a Git LFS pointer)`]);
  });

  it('takes an encoder and a decoder without a joiner for a transducer and names the joiner, unless the encoder is a paraformer', () => {
    const plain = modelDir(['encoder.onnx', 'decoder.onnx', 'tokens.txt']);
    const e = errorOf(() => validateSttModelDir(plain));
    expect(e.missing).toHaveLength(1);
    expect(e.missing[0]).toMatch(/^joiner\*\.onnx \(for a transducer model; .*could also be a paraformer.*encoder\.onnx has no lfr_window_size metadata: set the model type to paraformer/);
    expect(e.message).toContain(`missing joiner*.onnx (for a transducer model`);
    // A transducer encoder's own metadata says the same.
    expect(errorOf(() => validateSttModelDir(modelDir(['encoder.onnx#transducer', 'decoder.onnx', 'tokens.txt']))).missing[0]).toMatch(/^joiner\*\.onnx \(for a transducer model/);
    // The type given explicitly wins.
    expect(validateSttModelDir(plain, { type: 'paraformer' })).toEqual({
      type: 'paraformer',
      encoder: join(plain, 'encoder.onnx'),
      decoder: join(plain, 'decoder.onnx'),
      tokens: join(plain, 'tokens.txt'),
    });
    // A paraformer encoder (lfr_window_size in its metadata) needs no type.
    expect(validateSttModelDir(modelDir(['encoder.onnx#paraformer', 'decoder.onnx', 'tokens.txt'])).type).toBe('paraformer');
  });

  it('takes a bare model.onnx for zipformer2 CTC only when nothing points to another layout', () => {
    const ctc = modelDir(['model.onnx', 'model.int8.onnx', 'tokens.txt']);
    expect(validateSttModelDir(ctc)).toEqual({ type: 'zipformer2_ctc', model: join(ctc, 'model.int8.onnx'), tokens: join(ctc, 'tokens.txt') });

    const tts = modelDir(['model.onnx', 'tokens.txt', 'voices.bin', 'espeak-ng-data/']);
    const e = errorOf(() => validateSttModelDir(tts));
    expect(e.message).toContain('model.onnx could be a streaming zipformer2 CTC model, but the directory also has voices.bin, espeak-ng-data/ (a TTS voice)');
    expect(e.message).toContain('set the model type to zipformer2_ctc');
    expect(validateSttModelDir(tts, { type: 'zipformer2_ctc' }).model).toBe(join(tts, 'model.onnx'));

    const funasr = modelDir(['model.onnx', 'tokens.txt', 'am.mvn', 'config.yaml']);
    expect(errorOf(() => validateSttModelDir(funasr)).message).toContain('am.mvn, config.yaml (an offline FunASR/SenseVoice model)');
    const sense = modelDir(['tokens.txt']);
    writeFileSync(join(sense, 'model.int8.onnx'), PARAFORMER_ENCODER);
    expect(errorOf(() => validateSttModelDir(sense)).message).toContain("lfr_window_size in model.int8.onnx's metadata");
    const two = modelDir(['model-a.onnx', 'model-b.onnx', 'tokens.txt']);
    expect(errorOf(() => validateSttModelDir(two)).message).toContain('several different model*.onnx files (model-a, model-b)');
    // Named as CTC, it is one.
    expect(validateSttModelDir(modelDir(['ctc-model.onnx', 'tokens.txt', 'config.yaml'])).type).toBe('zipformer2_ctc');
  });

  it('says what an empty directory lacks, and names a missing directory', () => {
    const e = errorOf(() => validateSttModelDir(modelDir([])));
    expect(e.missing[0]).toMatch(/^an online model: joiner\*\.onnx/);
    expect(e.missing[1]).toBe('tokens.txt');
    const gone = join(tmpdir(), 'sherpa-no-such-dir-xyz');
    const e2 = errorOf(() => validateSttModelDir(gone, { configKey: 'stt.sherpa.modelDir' }));
    expect(e2.message).toContain(`stt.sherpa.modelDir: model directory does not exist or cannot be read (${gone})`);
  });

  it('rejects a file given as the model directory', () => {
    const d = modelDir(['tokens.txt']);
    const e = errorOf(() => validateSttModelDir(join(d, 'tokens.txt')));
    expect(e.message).toContain('not a directory');
  });
});

describe('validateTtsModelDir', () => {
  it('accepts a piper voice (one onnx, tokens, espeak-ng-data)', () => {
    const d = modelDir(['en_US-amy-low.onnx', 'en_US-amy-low.onnx.json', 'tokens.txt', 'espeak-ng-data/']);
    expect(validateTtsModelDir(d)).toEqual({
      type: 'vits',
      model: join(d, 'en_US-amy-low.onnx'),
      tokens: join(d, 'tokens.txt'),
      dataDir: join(d, 'espeak-ng-data'),
    });
  });

  it('accepts a lexicon-based vits model without espeak-ng-data', () => {
    const d = modelDir(['model.onnx', 'tokens.txt', 'lexicon.txt']);
    expect(validateTtsModelDir(d).lexicon).toBe(join(d, 'lexicon.txt'));
  });

  it('names the missing espeak-ng-data of a piper voice', () => {
    const e = errorOf(() => validateTtsModelDir(modelDir(['en_US-amy-low.onnx', 'tokens.txt'])));
    expect(e.missing).toEqual(['espeak-ng-data/ directory (or lexicon.txt) (for a vits/piper model)']);
  });

  it('detects kokoro by voices.bin and names what it lacks', () => {
    const d = modelDir(['model.onnx', 'voices.bin', 'tokens.txt', 'espeak-ng-data/', 'lexicon-us-en.txt', 'lexicon-zh.txt']);
    const f = validateTtsModelDir(d);
    expect(f.type).toBe('kokoro');
    expect(f.voices).toBe(join(d, 'voices.bin'));
    expect(f.lexicon).toBe(`${join(d, 'lexicon-us-en.txt')},${join(d, 'lexicon-zh.txt')}`);
    const e = errorOf(() => validateTtsModelDir(modelDir(['model.onnx', 'tokens.txt']), { type: 'kokoro' }));
    expect(e.missing).toEqual(['voices.bin (for a kokoro model)', 'espeak-ng-data/ directory (for a kokoro model)']);
  });

  it('names an incomplete espeak-ng-data (no phontab)', () => {
    const d = modelDir(['model.onnx', 'tokens.txt', 'voices.bin', 'espeak-ng-data/']);
    rmSync(join(d, 'espeak-ng-data', 'phontab'));
    expect(errorOf(() => validateTtsModelDir(d)).missing).toEqual(['espeak-ng-data/phontab (espeak-ng-data is incomplete)']);
  });

  it('names a missing model file and tokens', () => {
    const e = errorOf(() => validateTtsModelDir(modelDir(['espeak-ng-data/'])));
    expect(e.missing).toEqual(['the model *.onnx file', 'tokens.txt']);
  });
});

describe('onnxMetadataKeys', () => {
  it('reads metadata_props keys without loading the model, and gives up on what is not a ModelProto', () => {
    const d = modelDir(['tokens.txt']);
    writeFileSync(join(d, 'p.onnx'), PARAFORMER_ENCODER);
    expect([...(onnxMetadataKeys(join(d, 'p.onnx')) ?? [])]).toEqual(['vocab_size', 'lfr_window_size', 'lfr_window_shift']);
    writeFileSync(join(d, 'plain.onnx'), ONNX_HEAD);
    expect(onnxMetadataKeys(join(d, 'plain.onnx'))?.size).toBe(0);
    writeFileSync(join(d, 'lfs.onnx'), 'version https://git-lfs.github.com/spec/v1\n');
    expect(onnxMetadataKeys(join(d, 'lfs.onnx'))).toBeUndefined();
    expect(onnxMetadataKeys(join(d, 'none.onnx'))).toBeUndefined();
    // A real model (the packaged Silero VAD, 2.3 MB) is walked to its end.
    expect(onnxMetadataKeys(sileroModelPath('v5'))).toBeInstanceOf(Set);
  });
});
