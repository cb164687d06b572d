/**
 * The shared telephony listener: one `auto` path recognises every platform from its first frames (or its
 * subprotocol); keys are checked in the URL, in headers, or in the platform's custom parameter, and
 * sources before the upgrade; a connection that is refused never reaches the call layer; a connection
 * that never says which call it is, is closed; paths that are not ours are left alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CallLeg } from '../../../../src/call/call-leg.ts';
import { runEcho } from '../../../../src/call/echo.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import { ChanWebsocketClient, GenesysClient, JambonzClient, VonageClient } from '../../../support/telephony-binary-clients.ts';
import { waitFor, type PlatformClient } from '../../../support/telephony-client.ts';
import { startTelephonyHarness, TEST_KEY, type TelephonyHarness } from '../../../support/telephony-harness.ts';
import { ExotelClient, PlivoClient, TelnyxClient, TwilioClient } from '../../../support/telephony-json-clients.ts';
import { WsPeer } from '../../../support/telephony-ws-peer.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Recorded {
  readonly h: TelephonyHarness;
  readonly legs: CallLeg[];
}

async function recording(telephony: Record<string, unknown>): Promise<Recorded> {
  const legs: CallLeg[] = [];
  const h = await startTelephonyHarness({
    telephony,
    startCall: (leg) => {
      legs.push(leg);
      return runEcho(leg, silentLogger());
    },
  });
  cleanup.push(() => h.close());
  return { h, legs };
}

const auto = { path: '/telephony', dialect: 'auto', apiKeys: [TEST_KEY] };

describe('telephony listener', () => {
  it('recognises each platform on one auto path', async () => {
    const { h, legs } = await recording({ endpoints: [auto] });
    const url = h.wsUrl('/telephony');
    const clients: Array<[string, PlatformClient]> = [
      ['twilio', new TwilioClient(url, { token: TEST_KEY })],
      ['telnyx', new TelnyxClient(url, { token: TEST_KEY })],
      ['plivo', new PlivoClient(url, { token: TEST_KEY })],
      ['exotel', new ExotelClient(url, { token: TEST_KEY })],
      ['vonage', new VonageClient(url, { token: TEST_KEY })],
      ['jambonz', new JambonzClient(url, { token: TEST_KEY })],
      ['chan_websocket', new ChanWebsocketClient(h.wsUrl('/telephony', { token: TEST_KEY }))],
      ['genesys', new GenesysClient(url, { token: TEST_KEY })],
    ];
    for (const [dialect, client] of clients) {
      cleanup.push(() => client.close());
      const before = legs.length;
      await client.start();
      await waitFor(() => legs.length > before, 2000, `a ${dialect} call`);
      expect(legs.at(-1)?.medium).toBe(dialect);
      await client.hangup();
      await legs.at(-1)?.ended;
    }
  });

  it('takes the key from the URL, an Authorization or X-API-KEY header, or the custom parameter', async () => {
    const { h, legs } = await recording({ endpoints: [auto] });
    const start = async (c: PlatformClient) => {
      cleanup.push(() => c.close());
      const before = legs.length;
      await c.start();
      await waitFor(() => legs.length > before, 2000, 'a call');
    };
    await start(new TwilioClient(h.wsUrl('/telephony', { token: TEST_KEY })));
    await start(new TwilioClient(h.wsUrl('/telephony'), { token: TEST_KEY }));
    await start(new GenesysClient(h.wsUrl('/telephony'), { apiKey: TEST_KEY }));
    const bearer = await WsPeer.connect(h.wsUrl('/telephony'), undefined, { Authorization: `Bearer ${TEST_KEY}` });
    cleanup.push(() => bearer.close());
    bearer.sendText('{"event":"websocket:connected","content-type":"audio/l16;rate=8000"}');
    await waitFor(() => legs.length === 4, 2000, 'the bearer call');
    expect(legs.map((l) => l.medium)).toEqual(['twilio', 'twilio', 'genesys', 'vonage']);
  });

  it('refuses before any call exists: wrong URL token (401), source (403), missing or wrong custom key (1008)', async () => {
    const { h, legs } = await recording({ endpoints: [auto, { path: '/lan', allowFrom: ['10.0.0.0/8'] }] });
    await expect(WsPeer.connect(h.wsUrl('/telephony', { token: 'wrong-key-0123456789' }))).rejects.toThrow(/status 401: .*CR_TELEPHONY_KEY/);
    await expect(WsPeer.connect(h.wsUrl('/lan'))).rejects.toThrow(/status 403: .*CR_TELEPHONY_SOURCE/);
    const none = new TwilioClient(h.wsUrl('/telephony'));
    cleanup.push(() => none.close());
    await none.start();
    expect(await none.closed).toMatchObject({ code: 1008, reason: expect.stringMatching(/no token/) });
    const wrong = new TwilioClient(h.wsUrl('/telephony'), { token: 'wrong-key-0123456789' });
    cleanup.push(() => wrong.close());
    await wrong.start();
    expect(await wrong.closed).toMatchObject({ code: 1008, reason: expect.stringMatching(/invalid token/) });
    // Media sent before the key was checked never reached anything.
    expect(legs).toEqual([]);
  });

  it('closes a connection that never starts a call, or that no platform would send', async () => {
    const { h, legs } = await recording({ endpoints: [auto], startTimeoutMs: 500 });
    const silent = await WsPeer.connect(h.wsUrl('/telephony', { token: TEST_KEY }));
    cleanup.push(() => silent.close());
    const t0 = performance.now();
    expect((await silent.closed).code).toBe(1008);
    expect(performance.now() - t0).toBeGreaterThan(400);
    const chatty = await WsPeer.connect(h.wsUrl('/telephony', { token: TEST_KEY }));
    cleanup.push(() => chatty.close());
    for (let i = 0; i < 4; i++) chatty.sendText('{"event":"connected","protocol":"Call","version":"1.0.0"}');
    expect(await chatty.closed).toMatchObject({ code: 1008, reason: expect.stringMatching(/not recognised/) });
    const stranger = await WsPeer.connect(h.wsUrl('/telephony', { token: TEST_KEY }));
    cleanup.push(() => stranger.close());
    stranger.sendText('{"hello":"world"}');
    expect(await stranger.closed).toMatchObject({ code: 1008, reason: expect.stringMatching(/no known platform/) });
    const noisy = await WsPeer.connect(h.wsUrl('/telephony', { token: TEST_KEY }));
    cleanup.push(() => noisy.close());
    for (let i = 0; i < 101; i++) noisy.sendBinary(new Uint8Array(320));
    expect(await noisy.closed).toMatchObject({ code: 1008, reason: expect.stringMatching(/binary frames before/) });
    expect(legs).toEqual([]);
  });

  it('leaves other paths alone: 404 when it is the only upgrade listener', async () => {
    const { h } = await recording({ endpoints: [auto] });
    await expect(WsPeer.connect(h.wsUrl('/elsewhere'))).rejects.toThrow(/status 404/);
  });

  it('ends every call on shutdown, telling each platform its way', async () => {
    const { h, legs } = await recording({ endpoints: [auto] });
    const tw = new TwilioClient(h.wsUrl('/telephony'), { token: TEST_KEY });
    const ast = new ChanWebsocketClient(h.wsUrl('/telephony', { token: TEST_KEY }));
    cleanup.push(() => tw.close(), () => ast.close());
    await tw.start();
    await ast.start();
    await waitFor(() => legs.length === 2, 2000, 'two calls');
    await h.bridges.close();
    const ends = await Promise.all(legs.map((l) => l.ended));
    expect(ends.map((e) => e.detail)).toEqual(['gateway shutting down', 'gateway shutting down']);
    expect(await tw.closed).toMatchObject({ code: 1001 });
    await ast.closed;
    expect(ast.commands.map((c) => c.command)).toContain('HANGUP');
    expect(h.bridges.calls).toBe(0);
  });
});
