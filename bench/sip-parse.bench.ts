/**
 * SIP message layer throughput on one core: parsing a typical trunk INVITE with SDP and a 200 OK
 * (with the default validation, and framing only), reading the fields a transaction layer reads,
 * building a response, serialising, and framing a TCP stream.
 */
import { StreamFramer, createResponse, parseMessage, type SipMessage } from '../src/sip/message/index.ts';
import { printResults } from './types.ts';
import type { BenchResult } from './types.ts';

const SDP =
  'v=0\r\no=- 3724394400 3724394400 IN IP4 203.0.113.10\r\ns=-\r\nc=IN IP4 203.0.113.10\r\nt=0 0\r\n' +
  'm=audio 16384 RTP/AVP 0 8 9 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:9 G722/8000\r\n' +
  'a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n';

const INVITE = Buffer.from(
  'INVITE sip:+14155550100@gw.example.com:5060;transport=udp SIP/2.0\r\n' +
    'Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-524287-1---2d8f0a6c3b1e;rport\r\n' +
    'Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK7b3f.9d2a1c5e0000000000000000;received=198.51.100.7\r\n' +
    'Max-Forwards: 69\r\n' +
    'Record-Route: <sip:198.51.100.7;lr;ftag=as5f1c2d3e>\r\n' +
    'Contact: <sip:+12125550123@203.0.113.10:5060;transport=udp>\r\n' +
    'To: <sip:+14155550100@gw.example.com>\r\n' +
    'From: "Caller Name" <sip:+12125550123@carrier.example.net>;tag=as5f1c2d3e\r\n' +
    'Call-ID: 4c2d9e8f1a7b3c5d6e0f1a2b3c4d5e6f@203.0.113.10\r\n' +
    'CSeq: 102 INVITE\r\n' +
    'User-Agent: Carrier SBC 4.2\r\n' +
    'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, INFO, UPDATE\r\n' +
    'Supported: replaces, timer\r\n' +
    'P-Asserted-Identity: <sip:+12125550123@carrier.example.net>\r\n' +
    'Session-Expires: 1800;refresher=uac\r\n' +
    'Content-Type: application/sdp\r\n' +
    `Content-Length: ${SDP.length}\r\n\r\n${SDP}`,
);

const OK = Buffer.from(
  'SIP/2.0 200 OK\r\n' +
    'Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK8f2a9c1e5d7b3a60;rport=5080;received=127.0.0.1\r\n' +
    'Record-Route: <sip:198.51.100.7;lr>\r\n' +
    'From: <sip:callroom@127.0.0.1>;tag=7d1e2f3a\r\n' +
    'To: <sip:+14155550100@198.51.100.7>;tag=as2b3c4d5e\r\n' +
    'Call-ID: 9f8e7d6c5b4a39281706f5e4d3c2b1a0@127.0.0.1\r\n' +
    'CSeq: 1 INVITE\r\n' +
    'Contact: <sip:+14155550100@198.51.100.7:5060>\r\n' +
    'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\r\n' +
    'Supported: replaces, timer\r\n' +
    'Content-Type: application/sdp\r\n' +
    `Content-Length: ${SDP.length}\r\n\r\n${SDP}`,
);

/** Calls `step` for about `ms` after a warm-up; calls per second. */
function rate(ms: number, step: () => void): number {
  const warmUntil = performance.now() + Math.min(300, ms / 3);
  while (performance.now() < warmUntil) for (let i = 0; i < 100; i++) step();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 200; i++) step();
    calls += 200;
    now = performance.now();
  }
  return calls / ((now - start) / 1000);
}

/** Keeps results observable so the JIT cannot drop the work. */
let sink = 0;

function parsed(buf: Buffer): SipMessage {
  const r = parseMessage(buf);
  if (!r.ok) throw new Error(`bench message does not parse: ${r.error.reason}`);
  return r.message;
}

export async function run(): Promise<BenchResult[]> {
  const ms = 1500;
  const results: BenchResult[] = [];
  const push = (name: string, value: number, unit: string, note?: string): void => {
    results.push({ name, value: Math.round(value), unit, ...(note === undefined ? {} : { note }) });
  };

  push('parse INVITE+SDP (validated)', rate(ms, () => {
    const r = parseMessage(INVITE);
    sink ^= r.ok ? r.message.headers.length : 0;
  }), 'msg/s', `${INVITE.length} bytes`);
  push('parse INVITE+SDP (framing only)', rate(ms, () => {
    const r = parseMessage(INVITE, { validate: false });
    sink ^= r.ok ? r.message.headers.length : 0;
  }), 'msg/s');
  push('parse 200 OK+SDP (validated)', rate(ms, () => {
    const r = parseMessage(OK);
    sink ^= r.ok ? r.message.status : 0;
  }), 'msg/s', `${OK.length} bytes`);
  push('parse INVITE + read transaction fields', rate(ms, () => {
    const r = parseMessage(INVITE, { validate: false });
    if (!r.ok) return;
    const m = r.message;
    sink ^= (m.topVia?.branch?.length ?? 0) + (m.cseq?.seq ?? 0) + (m.callId?.length ?? 0) + (m.from?.tag?.length ?? 0) + m.routes.length;
  }), 'msg/s', 'Via branch, CSeq, Call-ID, From tag, Route');

  const invite = parsed(INVITE);
  const ok = parsed(OK);
  push('serialise INVITE+SDP', rate(ms, () => {
    sink ^= invite.toBuffer().length;
  }), 'msg/s');
  push('serialise 200 OK+SDP', rate(ms, () => {
    sink ^= ok.toBuffer().length;
  }), 'msg/s');
  push('createResponse(180, toTag) + serialise', rate(ms, () => {
    sink ^= createResponse(invite, 180, undefined, { toTag: 'a1b2c3' }).toBuffer().length;
  }), 'msg/s');

  // 40 INVITEs back to back, delivered in 1,400-byte TCP segments.
  const stream = Buffer.concat(Array.from({ length: 40 }, () => INVITE));
  const segments: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 1400) segments.push(stream.subarray(i, i + 1400));
  const framed = rate(ms, () => {
    const framer = new StreamFramer();
    for (const s of segments) sink ^= framer.push(s).length;
  });
  push('StreamFramer INVITEs in 1400-byte segments', framed * 40, 'msg/s');
  return results;
}

if (import.meta.main) {
  const results = await run();
  printResults('sip-parse', results);
  if (sink === 0.5) console.log(sink);
}
