import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../src/core/errors.ts';
import { ModelDirError, validateSttModelDir, validateTtsModelDir } from '../../../../src/providers/sherpa/validate-model-dir.ts';

/** The first bytes of a serialized ONNX ModelProto (field 1, ir_version = 7). */
const ONNX_HEAD = Buffer.from([0x08, 0x07, 0x12, 0x00]);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temp model dir with these files (non-empty) and sub-directories (names ending in '/'). */
function modelDir(entries: string[], empty: string[] = []): string {
  const d = mkdtempSync(join(tmpdir(), 'sherpa-model-'));
  dirs.push(d);
  for (const e of entries) {
    if (e === 'espeak-ng-data/') {
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
    expect(validateSttModelDir(modelDir(['encoder.int8.onnx', 'decoder.int8.onnx', 'tokens.txt'])).type).toBe('paraformer');
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
    const e = errorOf(() => validateSttModelDir(modelDir(['encoder.onnx', 'tokens.txt'])));
    expect(e.missing).toEqual(['decoder*.onnx (for a paraformer model)']);
  });

  it('names the CTC model when the type is given but the file is absent', () => {
    const e = errorOf(() => validateSttModelDir(modelDir(['tokens.txt']), { type: 'zipformer2_ctc' }));
    expect(e.missing).toEqual(['*ctc*.onnx (or model.onnx) (for a zipformer2_ctc model)']);
  });

  it('treats empty files (an LFS pointer-less checkout, a cut copy) as missing', () => {
    const e = errorOf(() => validateSttModelDir(modelDir(['encoder.onnx', 'decoder.onnx'], ['tokens.txt'])));
    expect(e.missing).toEqual(['tokens.txt (for a paraformer model)']);
  });

  it('names a .onnx file that is not an ONNX model (a Git LFS pointer) instead of letting onnxruntime abort', () => {
    const d = modelDir(['encoder.onnx', 'tokens.txt']);
    writeFileSync(join(d, 'decoder.onnx'), 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n');
    const e = errorOf(() => validateSttModelDir(d));
    expect(e.missing).toEqual([`a valid ONNX model: ${join(d, 'decoder.onnx')} is not one (corrupt, or a Git LFS pointer)`]);
    const t = modelDir(['tokens.txt', 'espeak-ng-data/']);
    writeFileSync(join(t, 'voice.onnx'), '<html>404</html>');
    expect(errorOf(() => validateTtsModelDir(t)).missing).toEqual([`a valid ONNX model: ${join(t, 'voice.onnx')} is not one (corrupt, or a Git LFS pointer)`]);
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
