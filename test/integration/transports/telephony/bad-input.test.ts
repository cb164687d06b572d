/**
 * Bad input per dialect, over real sockets with an echo call: malformed, truncated or unknown messages,
 * media before the start, binary on a JSON protocol, are counted and logged while the call goes on (a good
 * frame after them is still echoed); an oversized message ends the call with a clear reason; a vanished
 * peer ends it as an error. The process never crashes (vitest fails on an uncaught exception).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CallLeg } from '../../../../src/call/call-leg.ts';
import { runEcho } from '../../../../src/call/echo.ts';
import { silentLogger } from '../../../../src/core/logger.ts';
import { ChanWebsocketClient, GenesysClient, JambonzClient, VonageClient } from '../../../support/telephony-binary-clients.ts';
import { waitFor, type PlatformClient } from '../../../support/telephony-client.ts';
import { startTelephonyHarness, TEST_KEY } from '../../../support/telephony-harness.ts';
import { ExotelClient, PlivoClient, TelnyxClient, TwilioClient } from '../../../support/telephony-json-clients.ts';
import type { WsPeer } from '../../../support/telephony-ws-peer.ts';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Case {
  readonly dialect: string;
  readonly make: (url: string) => PlatformClient & { peer: WsPeer | undefined };
  /** Junk sent after the start; every entry is one frame (string: text, Uint8Array: binary). */
  readonly junk: ReadonlyArray<string | Uint8Array>;
  /** Counters the junk must have moved in the leg's media stats. */
  readonly counted: Readonly<Record<string, number>>;
}

const loud = (n: number): Int16Array => new Int16Array(n).fill(6000);

const cases: Case[] = [
  {
    dialect: 'twilio',
    make: (url) => new TwilioClient(url, { token: TEST_KEY }),
    junk: [
      'not json at all',
      '{"event":"media","streamSid":"MZ","media":{"payload":"$$$$"}}',
      '{"event":"media","streamSid":"MZ","media":{"paylo',
      '{"event":"frobnicate"}',
      '{"event":"start","start":{"streamSid":"MZ2","callSid":"CA2"}}',
      new Uint8Array([1, 2, 3]),
      '{"event":"mark","mark":{"name":"cr-99999"}}',
    ],
    counted: { malformed: 2, invalid: 1, unknownEvent: 1, duplicateStart: 1, unexpectedBinary: 1, staleMark: 1 },
  },
  {
    dialect: 'telnyx',
    make: (url) => new TelnyxClient(url, { token: TEST_KEY }),
    junk: ['{"event":"media","media":{"chunk":"x","payload":"A"}}', '{"event":"dtmf","dtmf":{}}', '{"event":"error","payload":{"code":1,"title":"t"}}', '{"event":"nope"}'],
    counted: { invalid: 2, unknownEvent: 1 },
  },
  {
    dialect: 'plivo',
    make: (url) => new PlivoClient(url, { token: TEST_KEY }),
    junk: ['{"event":"playedStream"}', '{"event":"??"}', '{'],
    counted: { invalid: 1, unknownEvent: 1, malformed: 1 },
  },
  {
    dialect: 'exotel',
    make: (url) => new ExotelClient(url, { token: TEST_KEY }),
    junk: ['{"event":"media","media":{}}', '{"event":"mark"}', '"a string"'],
    counted: { invalid: 2, malformed: 1 },
  },
  {
    dialect: 'vonage',
    make: (url) => new VonageClient(url, { token: TEST_KEY, rate: 8000 }),
    junk: [new Uint8Array(321), '{"event":"websocket:dtmf"}', '{"event":"websocket:unknown"}', 'nope', '{"event":"websocket:notify","payload":{"mark":"cr-77777"}}'],
    counted: { oddLength: 1, invalid: 1, unknownEvent: 1, malformed: 1, staleMark: 1 },
  },
  {
    dialect: 'jambonz',
    make: (url) => new JambonzClient(url, { token: TEST_KEY, rate: 8000 }),
    junk: [new Uint8Array(3), '{"type":"mark","data":{}}', '{"type":"surprise"}', '{"event":"dtmf","dtmf":"ZZ"}', '}{'],
    counted: { oddLength: 1, invalid: 2, unknownEvent: 1, malformed: 1 },
  },
  {
    dialect: 'chan_websocket',
    make: (url) => new ChanWebsocketClient(`${url}?token=${TEST_KEY}`),
    junk: ['NOT_A_THING x:1', '{"event":', 'DTMF_END channel_id:1', 'MEDIA_START channel_id:2 format:ulaw'],
    counted: { unknownEvent: 1, malformed: 1, invalid: 1, duplicateStart: 1 },
  },
  {
    dialect: 'genesys',
    make: (url) => new GenesysClient(url, { token: TEST_KEY }),
    junk: ['{"version":"2"}', '{"version":"2","type":"whatever","seq":9}', '{"version":"2","type":"dtmf","seq":10,"parameters":{}}'],
    counted: { malformed: 1, unknownEvent: 1, invalid: 1 },
  },
];

describe('bad input from telephony platforms', () => {
  for (const c of cases) {
    it(`${c.dialect}: junk is counted and logged, the call goes on`, async () => {
      const legs: CallLeg[] = [];
      const h = await startTelephonyHarness({
        telephony: { endpoints: [{ path: '/t', dialect: c.dialect, apiKeys: [TEST_KEY] }] },
        startCall: (leg) => {
          legs.push(leg);
          return runEcho(leg, silentLogger());
        },
      });
      cleanup.push(() => h.close());
      const client = c.make(h.wsUrl('/t'));
      cleanup.push(() => client.close());
      await client.start();
      await waitFor(() => legs.length === 1, 2000, 'the call');
      await new Promise((r) => setTimeout(r, 50));
      for (const j of c.junk) {
        if (typeof j === 'string') client.peer?.sendText(j);
        else client.peer?.sendBinary(j);
      }
      // A good frame after the junk is still echoed.
      for (let i = 0; i < 12; i++) client.sendFrame(loud(client.rate / 50));
      await waitFor(() => client.heard.some((f) => f.rms > 3000), 3000, 'the echo');
      const leg = legs[0] as CallLeg;
      expect(leg.mediaStats()).toMatchObject(c.counted);
      await client.hangup();
      expect((await leg.ended).reason).toBe('remote-hangup');
    });
  }

  it('an oversized message ends the call with a clear reason; a vanished peer ends it as an error', async () => {
    const legs: CallLeg[] = [];
    const h = await startTelephonyHarness({
      telephony: { endpoints: [{ path: '/t', apiKeys: [TEST_KEY] }], maxMessageBytes: 2048 },
      startCall: (leg) => {
        legs.push(leg);
        return runEcho(leg, silentLogger());
      },
    });
    cleanup.push(() => h.close());
    const big = new TwilioClient(h.wsUrl('/t'), { token: TEST_KEY });
    cleanup.push(() => big.close());
    await big.start();
    await waitFor(() => legs.length === 1, 2000, 'the call');
    big.peer?.sendText(`{"event":"media","media":{"payload":"${'A'.repeat(4096)}"}}`);
    expect(await legs[0]?.ended).toEqual({ reason: 'error', detail: 'the platform sent a message over telephony.maxMessageBytes' });
    expect(await big.closed).toMatchObject({ code: 1009 });
    const gone = new VonageClient(h.wsUrl('/t'), { token: TEST_KEY });
    cleanup.push(() => gone.close());
    await gone.start();
    await waitFor(() => legs.length === 2, 2000, 'the second call');
    gone.vanish();
    expect(await legs[1]?.ended).toMatchObject({ reason: 'error', detail: expect.stringMatching(/connection lost/) });
    // The bridge still takes calls.
    const after = new TwilioClient(h.wsUrl('/t'), { token: TEST_KEY });
    cleanup.push(() => after.close());
    await after.start();
    await waitFor(() => legs.length === 3, 2000, 'a call after');
  });

  it('media before start is counted and dropped; the start then begins the call', async () => {
    const legs: CallLeg[] = [];
    const h = await startTelephonyHarness({
      telephony: { endpoints: [{ path: '/t', dialect: 'twilio', apiKeys: [TEST_KEY] }] },
      startCall: (leg) => {
        legs.push(leg);
        return runEcho(leg, silentLogger());
      },
    });
    cleanup.push(() => h.close());
    const { WsPeer } = await import('../../../support/telephony-ws-peer.ts');
    const peer = await WsPeer.connect(h.wsUrl('/t'));
    cleanup.push(() => peer.close());
    peer.sendText('{"event":"connected","protocol":"Call","version":"1.0.0"}');
    for (let i = 0; i < 3; i++) peer.sendText(`{"event":"media","sequenceNumber":"${i + 1}","streamSid":"MZ9","media":{"track":"inbound","chunk":"${i + 1}","timestamp":"0","payload":"${Buffer.alloc(160, 0x10).toString('base64')}"}}`);
    peer.sendText(`{"event":"start","sequenceNumber":"4","streamSid":"MZ9","start":{"streamSid":"MZ9","accountSid":"AC","callSid":"CA9","tracks":["inbound"],"customParameters":{"token":"${TEST_KEY}"},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}`);
    await waitFor(() => legs.length === 1, 2000, 'the call');
    expect(legs[0]?.mediaStats()).toMatchObject({ mediaBeforeStart: 3 });
  });
});
