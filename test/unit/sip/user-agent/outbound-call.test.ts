import { afterEach, describe, expect, it } from 'vitest';
import { digestResponse, parseAuthParams } from '../../../../src/sip/auth/digest.ts';
import type { SipCall } from '../../../../src/sip/user-agent/call-types.ts';
import { advance, closeHarness, flush, harness, type Harness } from './support/harness.ts';
import { Peer, header, sdp } from './support/peer.ts';

let h: Harness | undefined;
afterEach(async () => {
  await closeHarness(h);
  h = undefined;
});

const TARGET = 'sip:bob@127.0.0.1:5070';

describe('dial (UAC)', () => {
  it('sends an INVITE with our offer, builds the ACK for the 2xx and resends it for 2xx retransmissions', async () => {
    h = await harness();
    const callee = new Peer();
    const progress: number[] = [];
    const dialing = h.ua.dial({ target: TARGET, onProgress: (s) => progress.push(s), headers: [['X-Campaign', '42']] });
    await flush();
    const invite = h.transport.last('INVITE');
    expect(invite.message.requestUri).toBe(TARGET);
    expect(invite.destination).toEqual({ transport: 'udp', address: '127.0.0.1', port: 5070 });
    expect(header(invite, 'x-campaign')).toBe('42');
    expect(invite.message.from?.tag).toBeDefined();
    expect(invite.message.to?.tag).toBeUndefined();
    expect(invite.message.get('contact')).toBe('<sip:127.0.0.1:5060>');
    expect(Buffer.from(invite.message.body).toString()).toContain('m=audio 30000 RTP/AVP 9 0 8 101');

    h.transport.deliver(callee.respond(invite, 180));
    await flush();
    expect(progress).toEqual([180]);
    expect(h.ua.dialogCount).toBe(1);
    h.transport.deliver(callee.respond(invite, 200, { body: sdp({ payloads: [0, 101], port: 44_000 }), extra: ['Record-Route: <sip:127.0.0.1:5080;lr>'] }));
    const call = await dialing;
    expect(call.state).toBe('active');
    expect(call.direction).toBe('outbound');
    expect(call.audio).toMatchObject({ codec: 'PCMU', remotePort: 44_000, dtmfPayloadType: 101 });
    const ack = h.transport.last('ACK');
    expect(ack.message.cseq).toEqual({ seq: 1, method: 'ACK' });
    expect(ack.message.requestUri).toBe('sip:callee@127.0.0.1:5070');
    expect(header(ack, 'route')).toBe('<sip:127.0.0.1:5080;lr>');
    expect(ack.destination).toEqual({ transport: 'udp', address: '127.0.0.1', port: 5080 });
    expect(ack.message.topVia?.branch).not.toBe(invite.message.topVia?.branch);

    h.transport.deliver(callee.respond(invite, 200, { body: sdp({ payloads: [0, 101], port: 44_000 }), extra: ['Record-Route: <sip:127.0.0.1:5080;lr>'] }));
    await flush();
    expect(h.transport.of('ACK')).toHaveLength(2);

    // The callee hangs up.
    const bye = `BYE sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKbye1\r\nFrom: <sip:bob@127.0.0.1:5070>;tag=${callee.toTag}\r\nTo: ${invite.message.get('from') ?? ''}\r\nCall-ID: ${invite.message.callId ?? ''}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n`;
    h.transport.deliver(bye);
    expect(await call.ended).toEqual({ reason: 'remote-bye' });
  });

  it('retries once with digest credentials (SHA-256 preferred), CSeq + 1, same Call-ID and From tag', async () => {
    h = await harness();
    const callee = new Peer();
    const dialing = h.ua.dial({ target: TARGET, credentials: { username: 'alice', password: 'pw' } });
    await flush();
    const first = h.transport.last('INVITE');
    h.transport.deliver(
      callee.respond(first, 401, {
        extra: [
          'WWW-Authenticate: Digest realm="trunk", nonce="n1", algorithm=MD5, qop="auth"',
          'WWW-Authenticate: Digest realm="trunk", nonce="n1", algorithm=SHA-256, qop="auth"',
        ],
      }),
    );
    await flush();
    const second = h.transport.last('INVITE');
    expect(second.message.cseq?.seq).toBe(2);
    expect(second.message.callId).toBe(first.message.callId);
    expect(second.message.from?.tag).toBe(first.message.from?.tag);
    expect(second.message.topVia?.branch).not.toBe(first.message.topVia?.branch);
    const auth = parseAuthParams(header(second, 'authorization'))!;
    expect(auth.get('algorithm')).toBe('SHA-256');
    expect(auth.get('qop')).toBe('auth');
    const expected = digestResponse({
      algorithm: 'SHA-256', username: 'alice', realm: 'trunk', password: 'pw', method: 'INVITE', uri: TARGET, nonce: 'n1',
      qop: 'auth', cnonce: auth.get('cnonce')!, nc: auth.get('nc')!,
    });
    expect(auth.get('response')).toBe(expected);
    // The 401 was ACKed inside its transaction.
    expect(h.transport.of('ACK')).toHaveLength(1);
    // A second challenge (not stale) is the failure it is.
    h.transport.deliver(callee.respond(second, 401, { extra: ['WWW-Authenticate: Digest realm="trunk", nonce="n2", algorithm=MD5'] }));
    await expect(dialing).rejects.toMatchObject({ code: 'CR_SIP_DIAL_FAILED', status: 401 });
  });

  it('fails with the rejection status and releases media', async () => {
    h = await harness();
    const dialing = h.ua.dial({ target: TARGET }).catch((e: unknown) => e);
    await flush();
    h.transport.deliver(new Peer().respond(h.transport.last('INVITE'), 486));
    expect(await dialing).toMatchObject({ code: 'CR_SIP_DIAL_FAILED', status: 486 });
    expect(h.media.open).toBe(0);
    expect(h.ua.calls).toHaveLength(0);
  });

  it('refuses host names (no DNS) and non-SIP targets with typed errors', async () => {
    h = await harness();
    await expect(h.ua.dial({ target: 'sip:bob@pbx.example.com' })).rejects.toMatchObject({ code: 'CR_SIP_TARGET_NOT_IP' });
    await expect(h.ua.dial({ target: 'tel:+15551234' })).rejects.toMatchObject({ code: 'CR_SIP_BAD_TARGET' });
    await expect(h.ua.dial({ target: 'sips:bob@127.0.0.1' })).rejects.toMatchObject({ code: 'CR_SIP_BAD_TARGET' });
    expect(h.transport.wire).toHaveLength(0);
    expect(h.media.endpoints).toHaveLength(0);
  });

  it('uses TCP when asked, with a transport=tcp Contact', async () => {
    h = await harness();
    void h.ua.dial({ target: 'sip:bob@127.0.0.1:5070;transport=tcp' }).catch(() => undefined);
    await flush();
    const invite = h.transport.last('INVITE');
    expect(invite.destination?.transport).toBe('tcp');
    expect(invite.message.get('contact')).toBe('<sip:127.0.0.1:5060;transport=tcp>');
  });

  it('CANCELs on abort only once a provisional response came (§9.1), and ACK+BYEs a 2xx that crosses it', async () => {
    h = await harness();
    const callee = new Peer();
    const abort = new AbortController();
    const dialing = h.ua.dial({ target: TARGET, signal: abort.signal }).catch((e: unknown) => e);
    await flush();
    const invite = h.transport.last('INVITE');
    abort.abort();
    expect(await dialing).toMatchObject({ code: 'CR_ABORTED' });
    expect(h.transport.of('CANCEL')).toHaveLength(0);
    h.transport.deliver(callee.respond(invite, 180));
    await flush();
    const cancel = h.transport.last('CANCEL');
    expect(cancel.message.topVia?.branch).toBe(invite.message.topVia?.branch);
    expect(cancel.message.cseq).toEqual({ seq: 1, method: 'CANCEL' });
    h.transport.deliver(callee.respond(cancel, 200));
    // The callee answered anyway: ACK it and hang up (§13.2.2.4 / §15).
    h.transport.deliver(callee.respond(invite, 200, { body: sdp() }));
    await flush();
    expect(h.transport.of('ACK')).toHaveLength(1);
    expect(h.transport.of('BYE')).toHaveLength(1);
  });

  it('CANCELs when not answered within timeoutMs and reports 408', async () => {
    h = await harness();
    const callee = new Peer();
    const dialing = h.ua.dial({ target: TARGET, timeoutMs: 5_000 }).catch((e: unknown) => e);
    await flush();
    const invite = h.transport.last('INVITE');
    h.transport.deliver(callee.respond(invite, 180));
    await advance(h.clock, 5_000, 500);
    expect(await dialing).toMatchObject({ code: 'CR_SIP_DIAL_FAILED', status: 408 });
    expect(h.transport.of('CANCEL')).toHaveLength(1);
    // The 487 that follows is ACKed by the transaction.
    h.transport.deliver(callee.respond(invite, 487));
    await flush();
    expect(h.transport.of('ACK')).toHaveLength(1);
  });

  it('hangup before the answer CANCELs; after it, BYE', async () => {
    h = await harness();
    const callee = new Peer();
    const dialing = h.ua.dial({ target: TARGET });
    await flush();
    const invite = h.transport.last('INVITE');
    h.transport.deliver(callee.respond(invite, 200, { body: sdp() }));
    const call: SipCall = await dialing;
    const bye = call.hangup();
    await flush();
    const byeMsg = h.transport.last('BYE');
    expect(byeMsg.message.cseq?.seq).toBe(2);
    expect(byeMsg.message.to?.tag).toBe(callee.toTag);
    h.transport.deliver(callee.respond(byeMsg, 200, { toTag: null }));
    await bye;
    expect(await call.ended).toEqual({ reason: 'local-bye' });
  });

  it('ACKs and BYEs a second fork that answers too', async () => {
    h = await harness();
    const callee = new Peer();
    const dialing = h.ua.dial({ target: TARGET });
    await flush();
    const invite = h.transport.last('INVITE');
    h.transport.deliver(callee.respond(invite, 200, { body: sdp() }));
    await dialing;
    h.transport.deliver(callee.respond(invite, 200, { body: sdp(), toTag: 'fork-2' }));
    await flush();
    const acks = h.transport.of('ACK');
    expect(acks.map((a) => a.message.to?.tag)).toEqual([callee.toTag, 'fork-2']);
    expect(h.transport.last('BYE').message.to?.tag).toBe('fork-2');
    expect(h.ua.calls).toHaveLength(1);
  });

  it('starts early media from a 183 answer and keeps it when the 2xx repeats no SDP', async () => {
    h = await harness();
    const callee = new Peer();
    const changes: number[] = [];
    const dialing = h.ua.dial({ target: TARGET });
    await flush();
    const invite = h.transport.last('INVITE');
    h.transport.deliver(callee.respond(invite, 183, { body: sdp({ port: 45_000 }) }));
    await flush();
    expect(h.media.endpoints[0]!.configured.map((a) => a.remotePort)).toEqual([45_000]);
    h.transport.deliver(callee.respond(invite, 200));
    const call = await dialing;
    call.onMediaChange((a) => changes.push(a.remotePort));
    expect(call.audio?.remotePort).toBe(45_000);
    expect(h.media.endpoints[0]!.configured).toHaveLength(1);
    expect(changes).toEqual([]);
  });

  it('hangs up when the 2xx answer has none of our codecs', async () => {
    h = await harness();
    const dialing = h.ua.dial({ target: TARGET }).catch((e: unknown) => e);
    await flush();
    h.transport.deliver(new Peer().respond(h.transport.last('INVITE'), 200, { body: sdp({ payloads: [18] }) }));
    expect(await dialing).toMatchObject({ code: 'CR_SIP_DIAL_FAILED', status: 488 });
    await flush();
    expect(h.transport.of('ACK')).toHaveLength(1);
    expect(h.transport.of('BYE')).toHaveLength(1);
  });
});
