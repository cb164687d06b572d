/**
 * The far side of a speech-to-speech benchmark, run in its own process so the gateway under test is
 * measured alone: the fake OpenAI Realtime server (TLS, every session answered with model audio in real
 * time) and SIP phones whose RTP is a bare UDP socket (no jitter buffer in the way: packets are timed as
 * they arrive). Each phone sends a tagged 20 ms PCMU packet every 20 ms, all the time. Each model session
 * speaks as a realtime model does: an answer (1.5 s of audio by default) every 3 s, its first 200 ms
 * at once and the rest at twice real time, then `response.done`. The first delta of each answer carries its
 * send time (the line is idle then, so what it measures is delay, not audio waiting its turn to be played).
 * Driven over IPC by the benchmark (`PeerRequest` -> `PeerReply`).
 */
import dgram from 'node:dgram';
import { validateConfig } from '../../src/config/load-config.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { NegotiatedAudio } from '../../src/sip/sdp/negotiate.ts';
import { createSipUserAgent, type SipCall } from '../../src/sip/user-agent/index.ts';
import type { SipMediaEndpoint } from '../../src/sip/user-agent/media-endpoint.ts';
import { FakeOpenAiRealtimeServer, type FakeRealtimeConnection } from './fake-openai-realtime-server.ts';
import { readStamp, stamp, wallMs } from './realtime-call-measure.ts';

export type PeerRequest =
  | { readonly type: 'calls'; readonly total: number; readonly sipPort: number }
  /** `answerEveryMs`/`answerMs`: how the model sessions speak from now on (default 3000 / 1500). */
  | { readonly type: 'measure'; readonly ms: number; readonly answerEveryMs?: number; readonly answerMs?: number }
  | { readonly type: 'stop' };

export interface PeerStats {
  /** Caller packet handed over by the gateway's leg -> at the model socket. */
  readonly inCallroom: number[];
  /** Caller packet sent by the phone -> at the model socket. */
  readonly inFromPhone: number[];
  /** First delta of an answer sent by the model -> its RTP packet at the phone's socket. */
  readonly outToPhone: number[];
  /** Answers started by the model sessions. */
  readonly answers: number;
  readonly phonePacketsSent: number;
  readonly modelPacketsReceived: number;
  readonly modelDeltasSent: number;
  readonly phonePacketsReceived: number;
  readonly cpuMs: number;
}

export type PeerReply =
  | { readonly type: 'ready'; readonly baseUrl: string; readonly ca: string; readonly apiKey: string }
  | { readonly type: 'calls'; readonly up: number; readonly failed: number }
  | { readonly type: 'measured'; readonly stats: PeerStats };

const PACKET = 160;
const BURST_MS = 200;
/** How the model sessions speak: an answer of `ms` every `everyMs`. */
const answers = { everyMs: 3000, ms: 1500 };

/** One model session's answers: when the next is due, and how far the current one has got. */
interface Speaker {
  next: number;
  sent: number;
  started: number;
  spurt: number;
}

/** A phone's RTP: one UDP socket, tagged packets out, arrival times in. */
class RawRtp implements SipMediaEndpoint {
  readonly address = '127.0.0.1';
  readonly port: number;
  readonly #socket: dgram.Socket;
  #remote: { address: string; port: number } | undefined;
  #pt = 0;
  #seq = Math.floor(Math.random() * 65536);
  #ts = Math.floor(Math.random() * 2 ** 31);
  readonly #ssrc = Math.floor(Math.random() * 2 ** 31);
  /** Next packet due (performance.now()). */
  due = 0;

  private constructor(socket: dgram.Socket, onPayload: (payload: Buffer) => void) {
    this.#socket = socket;
    this.port = socket.address().port;
    socket.on('message', (msg: Buffer) => {
      if (msg.length >= 12 + 16 && ((msg[1] as number) & 0x7f) === this.#pt) onPayload(msg.subarray(12));
    });
    socket.on('error', () => undefined);
  }

  static async open(onPayload: (payload: Buffer) => void): Promise<RawRtp> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new RawRtp(socket, onPayload);
  }

  configure(audio: NegotiatedAudio): void {
    this.#remote = { address: audio.remoteAddress, port: audio.remotePort };
    this.#pt = audio.payloadType;
  }

  get ready(): boolean {
    return this.#remote !== undefined;
  }

  send(): boolean {
    const remote = this.#remote;
    if (remote === undefined) return false;
    const buf = Buffer.alloc(12 + PACKET, 0xff);
    buf[0] = 0x80;
    buf[1] = this.#pt;
    buf.writeUInt16BE(this.#seq, 2);
    buf.writeUInt32BE(this.#ts >>> 0, 4);
    buf.writeUInt32BE(this.#ssrc, 8);
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + PACKET) >>> 0;
    stamp(buf.subarray(12), wallMs(), 0);
    buf.fill(0, 12 + 8, 12 + 16);
    this.#socket.send(buf, remote.port, remote.address);
    return true;
  }

  close(): void {
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
  }
}

export async function runPeer(send: (reply: PeerReply) => void, onRequest: (fn: (r: PeerRequest) => void) => void): Promise<void> {
  const apiKey = 'sk-bench';
  // Never "speech": the bench streams tagged bytes, not a voice, and wants no responses of the fake's own.
  const fake = new FakeOpenAiRealtimeServer({ apiKey, recordAudio: false, vadThreshold: 1e9 });
  await fake.start();
  let stats = blank();
  const cpu0 = { v: process.cpuUsage() };
  fake.onAppend = (_conn, bytes) => {
    const now = wallMs();
    for (let at = 0; at + 16 <= bytes.length; at += PACKET) {
      const p = bytes.subarray(at, at + PACKET);
      const sent = readStamp(p, 0, now);
      const handed = readStamp(p, 8, now);
      if (sent === undefined || handed === undefined) continue;
      stats.modelPacketsReceived++;
      stats.inFromPhone.push(now - sent);
      stats.inCallroom.push(now - handed);
    }
  };
  const phones: RawRtp[] = [];
  const calls: SipCall[] = [];
  const speakers = new Map<FakeRealtimeConnection, Speaker>();
  const config = validateConfig({ sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }], codecs: ['PCMU'], ringing: false } });
  const ua = await createSipUserAgent({
    config: config.sip,
    media: {
      allocate: () =>
        RawRtp.open((payload) => {
          const now = wallMs();
          stats.phonePacketsReceived++;
          const sent = readStamp(payload, 0, now);
          if (sent !== undefined) stats.outToPhone.push(now - sent);
        }).then((p) => {
          phones.push(p);
          return p;
        }),
    },
    logger: silentLogger(),
  });
  // One timer for every stream: phones' packets on their 20 ms schedules, models' answers on theirs.
  const delta = Buffer.alloc(PACKET, 0xff);
  const speak = (conn: FakeRealtimeConnection, sp: Speaker, now: number): void => {
    if (sp.sent === 0 && now < sp.next) return;
    if (sp.sent === 0) {
      sp.started = now;
      sp.spurt++;
      stats.answers++;
    }
    // Audio due by now: the burst, then twice real time.
    const due = Math.min(answers.ms, BURST_MS + 2 * (now - sp.started));
    const id = `${sp.spurt}`;
    while (sp.sent < due) {
      delta.fill(0xff, 0, 8);
      if (sp.sent === 0) stamp(delta, wallMs(), 0);
      conn.sendAudioDelta(delta, `resp_${id}`, `item_${id}`);
      stats.modelDeltasSent++;
      sp.sent += 20;
    }
    if (sp.sent >= answers.ms) {
      conn.send({ type: 'response.done', response: { object: 'realtime.response', id: `resp_${id}`, status: 'completed', status_details: null, output: [] } });
      sp.sent = 0;
      sp.next = sp.started + answers.everyMs;
    }
  };
  const tick = setInterval(() => {
    const now = performance.now();
    for (const p of phones) {
      if (!p.ready) continue;
      if (p.due === 0) p.due = now;
      for (let n = 0; p.due <= now && n < 5; n++, p.due += 20) if (p.send()) stats.phonePacketsSent++;
      if (p.due <= now) p.due = now + 20;
    }
    for (const conn of fake.connections) {
      if (conn.session === undefined || !conn.open) continue;
      let sp = speakers.get(conn);
      if (sp === undefined) {
        sp = { next: now + Math.random() * answers.everyMs, sent: 0, started: 0, spurt: 0 };
        speakers.set(conn, sp);
      }
      speak(conn, sp, now);
    }
  }, 5);
  send({ type: 'ready', baseUrl: fake.baseUrl, ca: fake.ca, apiKey });

  await new Promise<void>((resolve) => {
    onRequest((r) => {
      void (async () => {
        if (r.type === 'calls') {
          let failed = 0;
          while (calls.length < r.total) {
            const batch = Math.min(50, r.total - calls.length);
            const dialled = await Promise.allSettled(Array.from({ length: batch }, () => ua.dial({ target: `sip:agent@127.0.0.1:${r.sipPort}` })));
            for (const d of dialled) {
              if (d.status === 'fulfilled') calls.push(d.value);
              else failed++;
            }
            if (failed > 20) break;
          }
          // Until every session is open and streaming.
          const deadline = Date.now() + 30_000;
          while (fake.connections.filter((c) => c.session !== undefined && c.open).length < calls.length && Date.now() < deadline) {
            await new Promise((res) => setTimeout(res, 50));
          }
          send({ type: 'calls', up: fake.connections.filter((c) => c.session !== undefined && c.open).length, failed });
        } else if (r.type === 'measure') {
          answers.everyMs = r.answerEveryMs ?? 3000;
          answers.ms = r.answerMs ?? 1500;
          stats = blank();
          cpu0.v = process.cpuUsage();
          await new Promise((res) => setTimeout(res, r.ms));
          const c = process.cpuUsage(cpu0.v);
          send({ type: 'measured', stats: { ...stats, cpuMs: (c.user + c.system) / 1000 } });
        } else {
          clearInterval(tick);
          await Promise.allSettled(calls.map((c) => c.hangup()));
          await ua.close();
          for (const p of phones) p.close();
          await fake.stop();
          resolve();
        }
      })();
    });
  });
}

function blank(): { -readonly [K in keyof PeerStats]: PeerStats[K] } {
  return { inCallroom: [], inFromPhone: [], outToPhone: [], answers: 0, phonePacketsSent: 0, modelPacketsReceived: 0, modelDeltasSent: 0, phonePacketsReceived: 0, cpuMs: 0 };
}
