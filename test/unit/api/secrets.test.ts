import { describe, expect, it } from 'vitest';
import { maskAgentSpec, maskSecret, restoreAgentSecrets, restoreToolSecrets } from '../../../src/api/secrets.ts';
import { agentSchema } from '../../../src/config/agent-schema.ts';

const KEY = 'sk-abcdefghijklmnop1234';
const spec = agentSchema.parse({
  name: 'a',
  llm: { apiKey: KEY },
  tools: {
    http: [{ name: 't', description: 'd', httpMethod: 'GET', baseUrlPattern: 'https://x.example', automaticParameters: [{ name: 'k', location: 'header', knownValue: KEY }, { name: 'c', location: 'query', knownParam: 'call.id' }] }],
    mcp: [{ name: 'm', url: 'https://m.example', headers: { authorization: `Bearer ${KEY}`, x: 'short' } }],
  },
});

describe('secret masking', () => {
  it('shows the last four characters of long secrets only', () => {
    expect(maskSecret(KEY)).toBe('****1234');
    expect(maskSecret('fifteen-chars!!')).toBe('****');
    expect(maskSecret('')).toBe('****');
  });

  it('masks the LLM key, automatic values and MCP headers, and nothing else', () => {
    const masked = maskAgentSpec(spec);
    expect(JSON.stringify(masked)).not.toContain(KEY);
    expect(masked.tools.http[0]?.automaticParameters[1]).toEqual({ name: 'c', location: 'query', knownParam: 'call.id' });
    expect(masked.tools.mcp[0]?.headers).toEqual({ authorization: '****1234', x: '****' });
    expect({ ...masked, llm: spec.llm, tools: spec.tools }).toEqual(spec);
    expect(spec.llm.apiKey).toBe(KEY);
  });

  it('puts stored secrets back where their mask comes back, matching by name even when reordered', () => {
    const body = JSON.parse(JSON.stringify(maskAgentSpec(spec))) as Record<string, any>;
    body['tools'].http[0].automaticParameters.reverse();
    restoreAgentSecrets(body, spec);
    expect(body['llm'].apiKey).toBe(KEY);
    expect(body['tools'].http[0].automaticParameters[1].knownValue).toBe(KEY);
    expect(body['tools'].mcp[0].headers).toEqual({ authorization: `Bearer ${KEY}`, x: 'short' });
  });

  it('refuses a mask that does not match the stored secret, or with nothing stored', () => {
    expect(() => restoreAgentSecrets({ llm: { apiKey: '****9999' } }, spec)).toThrow(expect.objectContaining({ code: 'CR_API_VALIDATION' }));
    expect(() => restoreAgentSecrets({ llm: { apiKey: '****1234' } }, undefined)).toThrow(expect.objectContaining({ code: 'CR_API_VALIDATION' }));
    expect(() => restoreAgentSecrets({ tools: { http: [{ name: 'other', automaticParameters: [{ name: 'k', knownValue: '****1234' }] }] } }, spec)).toThrow();
    expect(() => restoreToolSecrets({ automaticParameters: [{ name: 'k', knownValue: '****' }] }, undefined)).toThrow();
    const plain = { llm: { apiKey: 'a-new-real-key' } };
    restoreAgentSecrets(plain, spec);
    expect(plain.llm.apiKey).toBe('a-new-real-key');
  });
});

describe('masking a spec stored under an older schema', () => {
  it('masks what is there and does not throw on missing parts', () => {
    const old = { name: 'old', llm: { apiKey: KEY }, tools: { http: [{ name: 't', automaticParameters: [{ name: 'k', knownValue: KEY }] }] } } as unknown as Parameters<typeof maskAgentSpec>[0];
    expect(JSON.stringify(maskAgentSpec(old))).not.toContain(KEY);
    expect(() => maskAgentSpec({ name: 'bare' } as unknown as Parameters<typeof maskAgentSpec>[0])).not.toThrow();
  });
});
