/**
 * The Silero files come from small npm packages (see src/vad/silero-model.ts): each must be the
 * exact file the measurements were made with, whatever a package update does.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SILERO_MODEL_FILES, SileroModel, sileroModelPath } from '../../../src/vad/silero-model.ts';

describe('packaged Silero model files', () => {
  for (const version of ['v5', 'v6'] as const) {
    it(`${version} is the known file (sha256) and loads with the v5/v6 I/O`, async () => {
      const path = sileroModelPath(version);
      expect(path).toContain(`node_modules/${SILERO_MODEL_FILES[version].pkg}/`);
      expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(SILERO_MODEL_FILES[version].sha256);
      const model = await SileroModel.load({ version });
      try {
        // One 16 kHz window of silence: a probability in [0, 1] and a new state.
        const probs = new Float32Array(1);
        const state = new Float32Array(256);
        await model.run(16000, 1, new Float32Array(576), state, probs);
        expect(probs[0]).toBeGreaterThanOrEqual(0);
        expect(probs[0]).toBeLessThan(0.5);
      } finally {
        await model.close();
      }
    });
  }

  it('the two versions are different files', () => {
    expect(SILERO_MODEL_FILES.v5.sha256).not.toBe(SILERO_MODEL_FILES.v6.sha256);
  });
});
