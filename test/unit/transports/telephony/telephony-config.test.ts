import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../../../src/config/load-config.ts';
import { redactConfig } from '../../../../src/config/redact.ts';
import { ConfigError } from '../../../../src/core/errors.ts';

describe('telephony config', () => {
  it('defaults to no endpoints and no AudioSocket listener, with the playout settings', () => {
    const t = validateConfig({}).telephony;
    expect(t.endpoints).toEqual([]);
    expect(t.audiosocket).toEqual([]);
    expect(t.playout).toEqual({ leadMs: 200, bufferMs: 2000, markEveryMs: 100, markTimeoutMs: 5000, maxPendingMarks: 25, realtimeLeadMs: 20 });
    expect(t.audiosocketKind11).toBe('auto');
  });

  it('takes endpoints and listeners, AudioSocket from loopback only by default', () => {
    const t = validateConfig({
      telephony: {
        endpoints: [
          { path: '/telephony/twilio', dialect: 'twilio', apiKeys: ['0123456789abcdef'], agent: 'support' },
          { path: '/telephony/any', allowFrom: ['10.0.0.0/8'] },
        ],
        audiosocket: [{ port: 9092 }],
      },
    }).telephony;
    expect(t.endpoints[1]).toMatchObject({ dialect: 'auto', apiKeys: [] });
    expect(t.audiosocket[0]).toEqual({ host: '127.0.0.1', port: 9092, allowFrom: ['127.0.0.1', '::1'] });
  });

  it('refuses an endpoint without authentication, duplicate paths, short keys and unknown dialects', () => {
    const bad = (telephony: unknown): string[] => {
      try {
        validateConfig({ telephony });
        return [];
      } catch (err) {
        return (err as ConfigError).issues as string[];
      }
    };
    expect(bad({ endpoints: [{ path: '/t' }] }).join()).toMatch(/needs apiKeys or allowFrom/);
    expect(bad({ endpoints: [{ path: '/t', allowFrom: ['::1'] }, { path: '/t', allowFrom: ['::1'] }] }).join()).toMatch(/unique/);
    expect(bad({ endpoints: [{ path: '/t', apiKeys: ['short'] }] }).join()).toMatch(/apiKeys/);
    expect(bad({ endpoints: [{ path: '/t', dialect: 'skype', allowFrom: ['::1'] }] }).join()).toMatch(/dialect/);
    expect(bad({ endpoints: [{ path: 'no-slash', allowFrom: ['::1'] }] }).join()).toMatch(/path/);
    expect(bad({ audiosocket: [{ port: 9092, allowFrom: [] }] }).join()).toMatch(/allowFrom/);
    expect(bad({ endpoints: [{ path: '/ws/join', allowFrom: ['::1'] }] }).join()).toMatch(/WebSocket medium/);
  });

  it('keeps endpoint keys out of the start-up log', () => {
    const c = validateConfig({ telephony: { endpoints: [{ path: '/t', apiKeys: ['0123456789abcdef'] }] } });
    expect(JSON.stringify(redactConfig(c))).not.toContain('0123456789abcdef');
  });
});
