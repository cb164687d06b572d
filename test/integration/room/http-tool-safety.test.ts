import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/core/logger.ts';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import { AiChannel } from '../../../src/room/ai-channel.ts';
import type { Channel } from '../../../src/room/channel.ts';
import type { RoomEvent } from '../../../src/room/events.ts';
import { httpTool, type HttpToolOptions } from '../../../src/room/http-tool.ts';
import { RoomKit } from '../../../src/room/room-kit.ts';
import { createToolContext } from '../../../src/room/tool.ts';
import { Upstream } from '../../support/upstream-http.ts';

const API_KEY = 'sk-live-SECRET/4242+x';
const CALL_ID = 'call-0042';

let up: Upstream;
let kit: RoomKit | undefined;
beforeEach(async () => {
  up = new Upstream();
  await up.start();
});
afterEach(async () => {
  await kit?.close();
  kit = undefined;
  await up.stop();
});

function lookupTool(extra: Partial<HttpToolOptions> = {}) {
  return httpTool({
    name: 'lookup',
    description: 'Look up an account',
    httpMethod: 'GET',
    baseUrlPattern: `${up.base}/accounts/{accountId}`,
    dynamicParameters: [
      { name: 'accountId', location: 'path', required: true },
      { name: 'q', location: 'query' },
    ],
    automaticParameters: [
      { name: 'X-Api-Key', location: 'header', knownValue: API_KEY },
      { name: 'callId', location: 'query', knownValue: (ctx) => ctx.roomMetadata['callId'] as string | undefined },
      { name: 'lang', location: 'query', knownValue: 'en' },
    ],
    ...extra,
  });
}

const ctx = () => createToolContext({ roomMetadata: { callId: CALL_ID } });

describe('httpTool safety', () => {
  it.each([
    ['path', { accountId: 'a\uD800b' }],
    ['query', { accountId: 'a', q: 'x\uDC00' }],
  ])('a lone surrogate in a %s value is a clear tool error, not "URI malformed", and sends nothing', async (where, args) => {
    const result = JSON.parse(await lookupTool().handler('lookup', args, ctx())) as { error: string };
    expect(result.error).toBe(`${where} parameter ${where === 'path' ? 'accountId' : 'q'} is not well-formed Unicode text (lone surrogate)`);
    expect(up.seen).toHaveLength(0);
  });

  it('automatic values come from knownValue only: the model cannot forge them', async () => {
    up.reply = (_req, res) => void res.writeHead(200).end('{"ok":true}');
    const forged = { accountId: 'a1', 'X-Api-Key': 'sk-forged', callId: 'forged', lang: 'xx' };
    expect(await lookupTool().handler('lookup', forged, createToolContext({ roomMetadata: {} }))).toBe('{"ok":true}');
    const seen = up.seen[0];
    expect(seen?.headers['x-api-key']).toBe(API_KEY);
    // No call id known: none is sent, and the forged one is not a fallback.
    expect(Object.fromEntries(new URL(seen?.rawUrl ?? '', up.base).searchParams)).toEqual({ lang: 'en' });
  });

  it('scrubs automatic values echoed in 2xx and non-2xx bodies (raw, JSON-escaped and percent-encoded)', async () => {
    const echo = (status: number) => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) =>
      void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ url: req.url, key: req.headers['x-api-key'], note: `key ${API_KEY}` }));
    up.reply = echo(200);
    const ok = await lookupTool().handler('lookup', { accountId: 'a1' }, ctx());
    expect(ok).not.toContain('SECRET');
    expect(ok).not.toContain(CALL_ID);
    expect(JSON.parse(ok)).toEqual({ url: '/accounts/a1?callId=[redacted]&lang=en', key: '[redacted]', note: 'key [redacted]' });
    up.reply = echo(403);
    const denied = JSON.parse(await lookupTool().handler('lookup', { accountId: 'a1' }, ctx())) as { error: string; body: string };
    expect(denied.error).toBe('HTTP 403');
    expect(denied.body).not.toContain('SECRET');
    expect(JSON.parse(denied.body)).toMatchObject({ key: '[redacted]', note: 'key [redacted]' });
    // A value shorter than 4 characters ("en") is not scrubbed: that would garble every result.
    expect(ok).toContain('lang=en');
  });

  it('scrubs automatic values from network error messages', async () => {
    const failing: typeof fetch = async (input) => {
      throw new Error(`connect ECONNREFUSED while fetching ${String(input)} with key ${API_KEY}`);
    };
    const result = JSON.parse(await lookupTool({ fetch: failing }).handler('lookup', { accountId: 'a1' }, ctx())) as { error: string };
    expect(result.error).toMatch(/^network error: connect ECONNREFUSED/);
    expect(result.error).not.toContain('SECRET');
    expect(result.error).not.toContain(CALL_ID);
    expect(result.error).toContain('[redacted]');
  });

  it('echoed secrets never reach the model, the room history, other channels or the logs', async () => {
    up.reply = (req, res) => void res.writeHead(200).end(JSON.stringify({ echoedKey: req.headers['x-api-key'], status: 'active' }));
    const lines: string[] = [];
    const logger = createLogger({ level: 'trace', redactContent: false }, { write: (s: string) => void lines.push(s) });
    const delivered: RoomEvent[] = [];
    const hook: Channel = { id: 'hook', category: 'webhook', deliver: (e) => void delivered.push(e) };
    const llm = new ScriptedLlm({ turns: [[{ toolCall: { name: 'lookup', arguments: { accountId: 'a1' } } }], 'Active.'] });
    kit = new RoomKit({ logger });
    kit.registerChannel(new AiChannel({ id: 'agent', provider: llm, systemPrompt: 's', tools: [lookupTool()] }));
    kit.registerChannel(hook);
    const room = kit.createRoom({ id: 'r', metadata: { callId: CALL_ID } });
    kit.attachChannel('r', 'agent');
    kit.attachChannel('r', 'hook');
    expect((await kit.userTurn('r', { text: 'status?' }, { streamText: false }).done).reason).toBe('stop');
    await kit.flush();
    expect(up.seen[0]?.headers['x-api-key']).toBe(API_KEY);
    const toolMessage = room.history().find((m) => m.role === 'tool');
    expect(toolMessage?.content).toBe('{"echoedKey":"[redacted]","status":"active"}');
    expect(delivered.some((e) => e.type === 'message' && e.message.role === 'tool')).toBe(true);
    for (const text of [JSON.stringify(llm.requests), JSON.stringify(room.history()), JSON.stringify(delivered), ...lines]) {
      expect(text).not.toContain('SECRET');
      expect(text).not.toContain(CALL_ID);
    }
  });
});
