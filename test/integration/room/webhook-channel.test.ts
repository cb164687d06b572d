import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScriptedLlm } from '../../../src/providers/mock/scripted-llm.ts';
import { AiChannel } from '../../../src/room/ai-channel.ts';
import { RoomKit } from '../../../src/room/room-kit.ts';
import { WebhookChannel, type WebhookDelivery, type WebhookProvider } from '../../../src/room/webhook-channel.ts';

let server: Server;
let port = 0;
let posts: Array<{ path: string; headers: IncomingHttpHeaders; body: unknown }> = [];
let status = 200;
let kit: RoomKit | undefined;

beforeEach(async () => {
  posts = [];
  status = 200;
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  await kit?.close();
  kit = undefined;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('WebhookChannel', () => {
  it('posts every room event of a turn as JSON, in order, to the endpoint', async () => {
    const hook = new WebhookChannel({ id: 'hook', url: `http://127.0.0.1:${port}/events`, headers: { authorization: 'Bearer t' } });
    kit = new RoomKit();
    kit.registerChannel(hook);
    kit.registerChannel(new AiChannel({ id: 'agent', provider: new ScriptedLlm({ turns: ['Hi there.'] }), systemPrompt: 's' }));
    kit.createRoom({ id: 'r' });
    kit.attachChannel('r', 'hook');
    kit.attachChannel('r', 'agent');
    await kit.userTurn('r', { text: 'hello', source: 'call' }, { streamText: false }).done;
    await kit.flush();
    expect(posts.map((p) => p.path)).toEqual(['/events', '/events', '/events', '/events']);
    expect(posts[0]?.headers['content-type']).toBe('application/json');
    expect(posts[0]?.headers.authorization).toBe('Bearer t');
    expect(posts.map((p) => p.body)).toMatchObject([
      { type: 'channel_attached', channelId: 'hook', roomId: 'r', seq: 1, source: 'system' },
      { type: 'channel_attached', channelId: 'agent', roomId: 'r', seq: 2 },
      { type: 'message', source: 'call', message: { role: 'user', content: 'hello' }, seq: 3 },
      { type: 'message', source: 'agent', message: { role: 'assistant', content: 'Hi there.' }, seq: 4 },
    ]);
    expect(hook.delivered).toBe(4);
  });

  it('binding metadata url overrides the endpoint; failures are counted, not thrown', async () => {
    const hook = new WebhookChannel({ id: 'hook', url: `http://127.0.0.1:${port}/default`, eventTypes: ['message'] });
    kit = new RoomKit();
    kit.registerChannel(hook);
    kit.createRoom({ id: 'a' });
    kit.attachChannel('a', 'hook', { metadata: { url: `http://127.0.0.1:${port}/room-a` } });
    status = 500;
    kit.addMessage('a', 'x', { role: 'user', content: 'one' });
    await kit.flush();
    expect(posts.map((p) => p.path)).toEqual(['/room-a']);
    expect(hook.failed).toBe(1);
    expect(hook.delivered).toBe(0);
  });

  it('takes a custom provider', async () => {
    const got: WebhookDelivery[] = [];
    const provider: WebhookProvider = {
      deliver: async (d) => {
        got.push(d);
        return { ok: true, status: 204 };
      },
    };
    kit = new RoomKit();
    kit.registerChannel(new WebhookChannel({ id: 'hook', url: 'http://127.0.0.1:1/x', provider }));
    kit.createRoom({ id: 'r' });
    kit.attachChannel('r', 'hook');
    kit.addMessage('r', 'x', { role: 'user', content: 'hey' });
    await kit.flush();
    expect(got.map((d) => JSON.parse(d.body).type)).toEqual(['channel_attached', 'message']);
    expect(got[1]?.event).toMatchObject({ type: 'message', message: { content: 'hey' } });
  });
});
