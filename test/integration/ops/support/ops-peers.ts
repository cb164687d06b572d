/**
 * Small peers for the operations tests: a raw SIP OPTIONS probe over UDP (what a dispatcher sends), a SIPp
 * scenario that streams audio and waits for the gateway's BYE, and caller audio with speech-like bursts; and
 * the clean-up every operations test shares.
 */
import { createSocket } from 'node:dgram';
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { mulawEncode } from '../../../../src/media/g711.ts';
import { releasePorts } from '../../../support/sip-peers/free-ports.ts';
import { liveProcesses, stopAllProcesses } from '../../../support/sip-peers/managed-process.ts';
import { speechLikeSignal } from '../../../support/sip-peers/test-signal.ts';

/**
 * Temporary directories and ports a test registers; after each test every process it started is stopped
 * (none may outlive it), the ports released and the directories removed.
 */
export function cleanedAfterEach(): { readonly dirs: string[]; readonly ports: number[] } {
  const held = { dirs: [] as string[], ports: [] as number[] };
  afterEach(async () => {
    await stopAllProcesses();
    expect(liveProcesses()).toHaveLength(0);
    releasePorts(held.ports.splice(0));
    for (const d of held.dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  return held;
}

/** Send one OPTIONS to `port` on 127.0.0.1 and return the response's status line and headers. */
export async function sipOptions(port: number, timeoutMs = 3000): Promise<{ status: number; text: string }> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const local = sock.address().port;
  const tag = randomUUID().slice(0, 8);
  const msg = [
    `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-${randomUUID()};rport`,
    'Max-Forwards: 70',
    `From: <sip:probe@127.0.0.1:${local}>;tag=${tag}`,
    `To: <sip:127.0.0.1:${port}>`,
    `Call-ID: ${randomUUID()}@127.0.0.1`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer to OPTIONS')), timeoutMs);
      sock.on('message', (data) => {
        const text = data.toString('utf8');
        const m = /^SIP\/2\.0 (\d{3})/.exec(text);
        if (m === null || Number(m[1]) < 200) return;
        clearTimeout(timer);
        resolve({ status: Number(m[1]), text });
      });
      sock.send(msg, port, '127.0.0.1');
    });
  } finally {
    sock.close();
  }
}

/** Caller audio as raw mu-law: `seconds` of speech-like bursts separated by pauses (loops well). */
export async function writeCallerAudio(dir: string, seconds: number): Promise<string> {
  const pcm = speechLikeSignal({ sampleRate: 8000, seconds, level: 0.4 });
  const file = join(dir, 'caller.ulaw');
  await writeFile(file, mulawEncode(pcm));
  return file;
}

/**
 * A UAC scenario: INVITE with PCMU, ACK, stream `audioFile` (looped), then wait for the gateway's BYE and
 * answer it. For calls the gateway ends (drain, time limit).
 */
export async function writeByeWaitScenario(dir: string, audioFile: string): Promise<string> {
  const xml = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac-audio-bye-from-gateway">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp [pid] 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [rtpstream_audio_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=ptime:20
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <nop>
    <action>
      <exec rtp_stream="${audioFile},-1,0"/>
    </action>
  </nop>
  <recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0
    ]]>
  </send>
</scenario>
`;
  const file = join(dir, 'uac-audio-bye-from-gateway.xml');
  await writeFile(file, xml);
  return file;
}

/**
 * Send one INVITE (PCMU offer) from 127.0.0.1 to `port` and return its final status; a non-2xx final is
 * ACKed (RFC 3261 §17.1.1.3) so the server transaction ends. For refusals: over the call limit, draining.
 */
export async function sipInvite(port: number, user = 'demo', timeoutMs = 5000): Promise<{ status: number; text: string }> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const local = sock.address().port;
  const branch = `z9hG4bK-${randomUUID()}`;
  const tag = randomUUID().slice(0, 8);
  const callId = `${randomUUID()}@127.0.0.1`;
  const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${local + 2} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
  const head = (method: string, toTag = ''): string[] => [
    `${method} sip:${user}@127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=${branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:caller@127.0.0.1:${local}>;tag=${tag}`,
    `To: <sip:${user}@127.0.0.1:${port}>${toTag}`,
    `Call-ID: ${callId}`,
    `CSeq: 1 ${method}`,
  ];
  const invite = [...head('INVITE'), `Contact: <sip:caller@127.0.0.1:${local}>`, 'Content-Type: application/sdp', `Content-Length: ${Buffer.byteLength(sdp)}`, '', sdp].join('\r\n');
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no final answer to INVITE')), timeoutMs);
      sock.on('message', (data) => {
        const text = data.toString('utf8');
        const m = /^SIP\/2\.0 (\d{3})/.exec(text);
        if (m === null || Number(m[1]) < 200) return;
        clearTimeout(timer);
        const toTag = /^To:.*?(;tag=[^;\s]+)/im.exec(text)?.[1] ?? '';
        if (Number(m[1]) >= 300) sock.send([...head('ACK', toTag).map((l) => l.replace('CSeq: 1 INVITE', 'CSeq: 1 ACK')), 'Content-Length: 0', '', ''].join('\r\n'), port, '127.0.0.1');
        resolve({ status: Number(m[1]), text });
      });
      sock.send(invite, port, '127.0.0.1');
    });
  } finally {
    await new Promise((r) => setTimeout(r, 50));
    sock.close();
  }
}

/** Send `count` OPTIONS at once from `address` (a loopback address) and count the answers within `waitMs`. */
export async function optionsBurst(port: number, address: string, count: number, waitMs = 1000): Promise<{ answered: number; statuses: number[] }> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, address, resolve));
  const local = sock.address().port;
  const statuses: number[] = [];
  sock.on('message', (data) => {
    const m = /^SIP\/2\.0 (\d{3})/.exec(data.toString('utf8'));
    if (m !== null && Number(m[1]) >= 200) statuses.push(Number(m[1]));
  });
  for (let i = 0; i < count; i++) {
    const msg = [
      `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP ${address}:${local};branch=z9hG4bK-${randomUUID()};rport`,
      'Max-Forwards: 70',
      `From: <sip:probe@${address}:${local}>;tag=${i}`,
      `To: <sip:127.0.0.1:${port}>`,
      `Call-ID: ${randomUUID()}@${address}`,
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    sock.send(msg, port, '127.0.0.1');
  }
  await new Promise((r) => setTimeout(r, waitMs));
  sock.close();
  return { answered: statuses.length, statuses };
}
