import { describe, expect, it } from 'vitest';

describe('runtime', () => {
  it('runs the suite on the pinned Node 24 LTS', () => {
    expect(process.version.startsWith('v24.')).toBe(true);
  });
});
