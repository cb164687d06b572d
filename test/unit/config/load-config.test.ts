import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEnvOverrides, loadConfig } from '../../../src/config/load-config.ts';
import { redactConfig } from '../../../src/config/redact.ts';
import { ConfigError } from '../../../src/core/errors.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'callroom-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

async function configError(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('loads the shipped default config and freezes it', async () => {
    const config = await loadConfig('config/default.yaml', {});
    expect(config.sip.listen.map((l) => l.transport)).toEqual(['udp', 'tcp']);
    expect(config.rtp.portMin).toBe(20000);
    expect(config.agents.map((a) => a.name)).toEqual(['demo']);
    expect(config.agents[0]?.llm.provider).toBe('demo');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.sip.listen[0])).toBe(true);
    expect(() => {
      (config.sip as { echo: boolean }).echo = true;
    }).toThrow(TypeError);
  });

  it('fills every default from an empty file', async () => {
    const config = await loadConfig(await file('empty.yaml', ''), {});
    expect(config.sip.timers).toEqual({ t1: 500, t2: 4000, t4: 5000 });
    expect(config.vad.engine).toBe('silero');
    expect(config.http.port).toBe(8080);
  });

  it('reads JSON files', async () => {
    const config = await loadConfig(await file('c.json', '{"sip":{"echo":true}}'), {});
    expect(config.sip.echo).toBe(true);
  });

  it('applies CALLROOM_* overrides with nesting and camelCase', async () => {
    const env = {
      CALLROOM_SIP__ECHO: 'true',
      CALLROOM_RTP__PORT_MIN: '30000',
      CALLROOM_RTP__PORT_MAX: '30100',
      CALLROOM_PROVIDERS__DEEPGRAM__API_KEY: 'dg-secret-key',
      CALLROOM_AGENTS__0__SYSTEM_PROMPT: 'Be brief.',
      OTHER: 'ignored',
    };
    const config = await loadConfig(await file('o.yaml', 'sip:\n  echo: false\nagents:\n  - name: desk\n'), env);
    expect(config.sip.echo).toBe(true);
    expect(config.rtp.portMin).toBe(30000);
    expect(config.providers.deepgram?.apiKey).toBe('dg-secret-key');
    expect(config.agents[0]?.systemPrompt).toBe('Be brief.');
  });

  it('names the key and the problem, never the value', async () => {
    const p = await file(
      'bad.yaml',
      'sip:\n  ptime: "twenty"\n  codecs: [OPUS]\nproviders:\n  openai:\n    apiKey: 12345\nrtp:\n  portMin: 3000\n  portMax: 2000\nbogus: 1\n',
    );
    const err = await configError(loadConfig(p, {}));
    const text = err.issues.join('\n');
    expect(text).toMatch(/sip\.ptime: .*expected number/);
    expect(text).toMatch(/sip\.codecs\.0: /);
    expect(text).toMatch(/providers\.openai\.apiKey: .*expected string/);
    expect(text).toMatch(/Unrecognized key.*bogus/);
    expect(text).not.toContain('12345');
    expect(text).not.toContain('twenty');
    expect(err.code).toBe('CR_CONFIG_INVALID');
  });

  it('names misspelt keys at every level', async () => {
    const p = await file('typo.yaml', 'sip:\n  ech: true\n  listen:\n    - { transport: udp, prot: 5070 }\n  trunks:\n    - name: t\n      auth: { username: u, password: p, realmm: x }\n');
    const text = (await configError(loadConfig(p, {}))).issues.join('\n');
    expect(text).toMatch(/^sip: Unrecognized key: "ech"/m);
    expect(text).toMatch(/^sip\.listen\.0: Unrecognized key: "prot"/m);
    expect(text).toMatch(/^sip\.trunks\.0\.auth: Unrecognized key: "realmm"/m);
  });

  it('never quotes the source of a JSON or YAML syntax error', async () => {
    const json = await configError(loadConfig(await file('leak.json', '{"providers":{"openai":{"apiKey": sk-LEAKME123}}}'), {}));
    expect(json.message).toMatch(/leak.json: not valid JSON/);
    expect(json.message).not.toContain('LEAKME');
    const yaml = await configError(loadConfig(await file('leak.yaml', 'providers:\n  openai: { apiKey: "sk-LEAK\n'), {}));
    expect(yaml.message).toMatch(/not valid YAML at line \d+, column \d+/);
    expect(yaml.message).not.toContain('LEAK');
  });

  it('keeps a numeric-looking secret from the environment as a string, and indexes arrays', async () => {
    const config = await loadConfig('config/default.yaml', {
      CALLROOM_PROVIDERS__OPENAI__API_KEY: '12345678',
      CALLROOM_SIP__LISTEN__0__PORT: '5070',
    });
    expect(config.providers.openai?.apiKey).toBe('12345678');
    expect(config.sip.listen[0]).toEqual({ transport: 'udp', host: '127.0.0.1', port: 5070 });
    expect(config.sip.listen).toHaveLength(2);
  });

  it('checks cross-field rules', async () => {
    const err = await configError(loadConfig(await file('r.yaml', 'rtp:\n  portMin: 3000\n  portMax: 2000\n'), {}));
    expect(err.issues.join('\n')).toMatch(/rtp\.portMin: portMin must not exceed portMax/);
  });

  it('reports syntax errors and missing files', async () => {
    const syntax = await configError(loadConfig(await file('s.yaml', 'sip: [unclosed\n  password: hunter2'), {}));
    expect(syntax.message).toMatch(/not valid YAML/);
    expect(syntax.message).not.toContain('hunter2');
    const missing = await configError(loadConfig(join(dir, 'nope.yaml'), {}));
    expect(missing.message).toMatch(/ENOENT/);
    const scalar = await configError(loadConfig(await file('x.yaml', '42\n'), {}));
    expect(scalar.message).toMatch(/top level must be a mapping/);
  });
});

describe('redactConfig', () => {
  it('hides every secret key', () => {
    const out = JSON.stringify(
      redactConfig({ providers: { deepgram: { apiKey: 'k1' } }, sip: { trunks: [{ auth: { password: 'p1' } }] }, http: { apiKeys: ['k2'] } }),
    );
    expect(out).not.toMatch(/k1|p1|k2/);
    expect(out).toContain('[secret]');
  });

  it('hides credentials inside URLs', () => {
    const out = JSON.stringify(redactConfig({ providers: { openai: { baseUrl: 'https://user:pa55@llm.internal/v1' } } }));
    expect(out).toContain('https://[secret]@llm.internal/v1');
    expect(out).not.toContain('pa55');
  });

  it('leaves non-object env targets alone', () => {
    expect(() => applyEnvOverrides(null, { CALLROOM_X: '1' })).not.toThrow();
  });
});
