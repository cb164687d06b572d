/**
 * Two Callroom SIP user agents on loopback, for call-session tests with real SIP and RTP but no child
 * process: a *gateway* whose inbound calls go to a `CallManager` (real VAD, recognisers, voices, room and
 * tools as the test gives them), and a *phone* that dials it and gets a `Phone`: play a WAV or PCM in real
 * time, record everything it hears (with arrival times), send DTMF, or feed what it hears back (an echo
 * path: attenuated and delayed, as a handset or a line would).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AgentRuntime } from '../../src/call/agent-runtime.ts';
import { CallManager, type CallEventEnvelope } from '../../src/call/call-manager.ts';
import { validateConfig } from '../../src/config/load-config.ts';
import type { AudioFrame } from '../../src/core/audio-frame.ts';
import { silentLogger, type Logger } from '../../src/core/logger.ts';
import { Pacer } from '../../src/media/rtp/pacer.ts';
import { PortAllocator } from '../../src/media/rtp/port-allocator.ts';
import { resampleBuffer } from '../../src/media/resample/index.ts';
import { readWav, toMono } from '../../src/media/wav.ts';
import { createSipUserAgent, type SipCall, type SipUserAgent } from '../../src/sip/user-agent/index.ts';
import { RtpAudioLeg } from '../../src/transports/sip/rtp-audio-leg.ts';
import { RtpMediaFactory } from '../../src/transports/sip/rtp-media-factory.ts';
import { createSipCallHandler } from '../../src/transports/sip/sip-call-handler.ts';
import { SipCallLeg } from '../../src/transports/sip/sip-call-leg.ts';
import type { Vad } from '../../src/vad/vad.ts';
import { FIXTURES_DIR } from './fixture-paths.ts';

export type Codec = 'G722' | 'PCMU' | 'PCMA';

export interface HarnessOptions {
  readonly agent: AgentRuntime | ((dialled: string) => AgentRuntime | undefined);
  readonly vad: Vad;
  /** Codecs the gateway prefers (default G.722, PCMU). */
  readonly gatewayCodecs?: readonly Codec[];
  /** Codecs the phone offers (default the gateway's). */
  readonly phoneCodecs?: readonly Codec[];
  readonly logger?: Logger;
  readonly maxConcurrentCalls?: number;
  readonly acceptRefer?: boolean;
}

export interface CallHarness {
  readonly manager: CallManager;
  readonly gateway: SipUserAgent;
  readonly phoneUa: SipUserAgent;
  /** Every call event, in order. */
  readonly events: CallEventEnvelope[];
  dial(user?: string): Promise<Phone>;
  /** The first call event of this type (waiting up to `timeoutMs` for it). */
  waitForEvent<T extends CallEventEnvelope['event']['type']>(type: T, timeoutMs?: number): Promise<Extract<CallEventEnvelope['event'], { type: T }>>;
  close(): Promise<void>;
}

/** A WAV fixture as PCM at `rate`. */
export function loadSpeech(file: string, rate: number): Int16Array {
  const full = path.isAbsolute(file) ? file : path.join(FIXTURES_DIR, 'speech', file);
  const wav = readWav(readFileSync(full));
  const mono = toMono(wav.samples, wav.channels);
  return wav.sampleRate === rate ? mono : resampleBuffer(mono, wav.sampleRate, rate);
}

export class Phone {
  readonly leg: SipCallLeg;
  /** The phone's SIP call (REFER, INFO, hold). */
  readonly call: SipCall;
  /** Everything heard, concatenated, at the call's rate. */
  heard: Int16Array = new Int16Array(0);
  /** Arrival time (performance.now) of each heard frame with its energy, for timing assertions. */
  readonly frames: Array<{ at: number; rms: number }> = [];
  /** Arrival time of each RTP packet that starts a talk spurt (marker bit), before the jitter buffer. */
  readonly spurts: number[] = [];
  /** Arrival time of the latest RTP audio packet. */
  lastPacketAt = 0;
  /** Arrival times of every RTP audio packet (kept when `keepArrivals`). */
  readonly arrivals: number[] = [];
  keepArrivals = false;
  #heardParts: Int16Array[] = [];
  #echo: { gain: number; delayFrames: number; queue: Int16Array[] } | undefined;

  constructor(leg: SipCallLeg, call: SipCall) {
    this.leg = leg;
    this.call = call;
    leg.onFrame((f) => this.#onFrame(f));
    leg.onRtpArrival((marker) => {
      const now = performance.now();
      this.lastPacketAt = now;
      if (this.keepArrivals) this.arrivals.push(now);
      if (marker) this.spurts.push(now);
    });
  }

  get rate(): number {
    return this.leg.sampleRate;
  }

  /** Play PCM (at `rate`) in real time; resolves when it has been sent. */
  async play(samples: Int16Array, rate: number, signal?: AbortSignal): Promise<void> {
    const step = rate / 50;
    for (let at = 0; at < samples.length && signal?.aborted !== true; at += step) {
      const piece = samples.subarray(at, Math.min(samples.length, at + step));
      await this.leg.write({ samples: piece.slice(), sampleRate: rate, timestamp: 0 });
    }
    await this.leg.drained();
  }

  /** Play silence for `ms`. */
  async silence(ms: number): Promise<void> {
    await this.play(new Int16Array(Math.round((this.rate * ms) / 1000)), this.rate);
  }

  /** Send what is heard back, scaled by `gainDb` and delayed by `delayMs` (an echo path). */
  echoBack(gainDb: number, delayMs: number): void {
    this.#echo = { gain: 10 ** (gainDb / 20), delayFrames: Math.round(delayMs / 20), queue: [] };
  }

  /** Stop the echo path. */
  noEcho(): void {
    this.#echo = undefined;
  }

  /** The heard audio from the first frame with energy on, joined (recording at the call's rate). */
  recording(): Int16Array {
    if (this.#heardParts.length > 0) {
      const total = this.heard.length + this.#heardParts.reduce((n, p) => n + p.length, 0);
      const all = new Int16Array(total);
      all.set(this.heard, 0);
      let at = this.heard.length;
      for (const p of this.#heardParts) {
        all.set(p, at);
        at += p.length;
      }
      this.heard = all;
      this.#heardParts = [];
    }
    return this.heard;
  }

  /** Arrival time of the last heard frame with energy above `rms` (0 when none). */
  lastLoudAt(rms = 300): number {
    for (let i = this.frames.length - 1; i >= 0; i--) if ((this.frames[i]?.rms ?? 0) > rms) return this.frames[i]?.at ?? 0;
    return 0;
  }

  /** Wait until the phone has heard audio with energy, then `quietMs` of near silence. */
  async waitForReply(options: { timeoutMs?: number; quietMs?: number; after?: number } = {}): Promise<void> {
    const deadline = performance.now() + (options.timeoutMs ?? 20_000);
    const quiet = options.quietMs ?? 1200;
    const after = options.after ?? 0;
    for (;;) {
      const last = this.lastLoudAt();
      if (last > after && performance.now() - last > quiet) return;
      if (performance.now() > deadline) throw new Error('no complete reply heard in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  #onFrame(f: AudioFrame): void {
    this.#heardParts.push(f.samples);
    let sum = 0;
    for (const v of f.samples) sum += v * v;
    this.frames.push({ at: performance.now(), rms: Math.sqrt(sum / Math.max(1, f.samples.length)) });
    const echo = this.#echo;
    if (echo !== undefined) {
      const scaled = new Int16Array(f.samples.length);
      for (let i = 0; i < scaled.length; i++) scaled[i] = Math.round((f.samples[i] as number) * echo.gain);
      echo.queue.push(scaled);
      if (echo.queue.length > echo.delayFrames) {
        const out = echo.queue.shift() as Int16Array;
        this.leg.sendFrame({ samples: out, sampleRate: f.sampleRate, timestamp: 0 });
      }
    }
  }
}

export async function startCallHarness(o: HarnessOptions): Promise<CallHarness> {
  const logger = o.logger ?? silentLogger();
  const base = 30000 + Math.floor(Math.random() * 150) * 10;
  const cleanup: Array<() => Promise<void> | void> = [];
  const pacer = new Pacer();
  cleanup.push(() => pacer.close());
  const ua = async (codecs: readonly Codec[], portBase: number): Promise<{ ua: SipUserAgent; port: number }> => {
    const config = validateConfig({
      sip: {
        listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }],
        codecs: [...codecs],
        trunks: [{ name: 'lo', cidrs: ['127.0.0.0/8'] }],
        ringing: false,
        acceptRefer: o.acceptRefer ?? false,
      },
    });
    const media = new RtpMediaFactory({ pacer, ports: new PortAllocator({ min: portBase, max: portBase + 9 }), bindAddress: '127.0.0.1', advertiseAddress: '127.0.0.1', jitterMs: 40 });
    const agent = await createSipUserAgent({ config: config.sip, media, logger: silentLogger() });
    cleanup.push(() => agent.close());
    return { ua: agent, port: agent.endpoints()[0]?.bound.port ?? 0 };
  };
  const gwCodecs = o.gatewayCodecs ?? ['G722', 'PCMU'];
  const gw = await ua(gwCodecs, base);
  const phone = await ua(o.phoneCodecs ?? gwCodecs, base + 5);
  const events: CallEventEnvelope[] = [];
  const manager = new CallManager({
    resolveAgent: async (dialled) => (typeof o.agent === 'function' ? o.agent(dialled) : o.agent),
    vad: o.vad,
    logger,
    maxConcurrentCalls: o.maxConcurrentCalls ?? 50,
    maxCallSeconds: 600,
  });
  manager.onCallEvent((e) => events.push(e));
  gw.ua.onCall(createSipCallHandler({ startCall: manager.startCall, logger }));
  cleanup.unshift(() => manager.hangupAll());
  return {
    manager,
    gateway: gw.ua,
    phoneUa: phone.ua,
    events,
    async dial(user = 'agent') {
      const call = await phone.ua.dial({ target: `sip:${user}@127.0.0.1:${gw.port}` });
      if (!(call.media instanceof RtpAudioLeg)) throw new Error('phone media is not an RTP leg');
      return new Phone(new SipCallLeg(call, call.media), call);
    },
    async waitForEvent(type, timeoutMs = 5000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const found = events.find((e) => e.event.type === type);
        if (found !== undefined) return found.event as never;
        if (performance.now() > deadline) throw new Error(`no ${type} event within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      for (const fn of cleanup.splice(0).reverse()) await fn();
    },
  };
}
