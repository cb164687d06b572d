import { describe, expect, it } from 'vitest';
import { withAssignedTools } from '../../../src/api/calls-port.ts';
import { agent, clientTool, httpTool } from '../../support/storage-contract.ts';
import type { AgentToolRecord } from '../../../src/storage/types.ts';

describe('withAssignedTools', () => {
  it('appends assigned HTTP and client tools after the inline ones, in assignment order, leaving the agent untouched', () => {
    const spec = agent({ name: 'a', tools: { client: [{ name: 'inline', description: 'd' }] } });
    const rec = (id: string, t: ReturnType<typeof httpTool>): AgentToolRecord => ({ id, name: t.name, version: 1, createdAt: 0, updatedAt: 0, ...t.tool });
    const merged = withAssignedTools({ agent: spec, tools: [rec('1', httpTool('h1')), rec('2', clientTool('c1')), rec('3', httpTool('h2'))] });
    expect(merged.tools.http.map((t) => t.name)).toEqual(['h1_model', 'h2_model']);
    expect(merged.tools.client.map((t) => t.name)).toEqual(['inline', 'c1_client']);
    expect(merged.tools.http[0]?.automaticParameters[0]?.knownValue).toBe('secret-value-123456');
    expect(spec.tools.client).toHaveLength(1);
    expect({ ...merged, tools: spec.tools }).toEqual(spec);
  });
});
