/**
 * What a scripted telephony platform client offers a test, whatever its framing: start the stream, send
 * caller audio one 20 ms frame at a time (encoded by the client's own reference code, never Callroom's),
 * DTMF, hang up; and what it observed: the agent's audio with arrival times, and the flush messages.
 */
export interface HeardFrame {
  readonly at: number;
  readonly rms: number;
  /** Audio in the message, ms. */
  readonly ms: number;
}

export interface PlatformClient {
  readonly dialect: string;
  /** Caller audio rate on the wire. */
  readonly rate: number;
  /** Connect and start the stream (connected/start, first JSON message, MEDIA_START, UUID, ...). */
  start(): Promise<void>;
  /** One frame of caller audio (PCM at `rate`, 20 ms). */
  sendFrame(pcm: Int16Array): void;
  sendDtmf(digit: string): void;
  /** The platform's end of the call: its stop/hang-up message and close. */
  hangup(): Promise<void>;
  /** Drop the connection without a word (a vanished peer). */
  vanish(): void;
  /** The agent's audio as received, one entry per message. */
  readonly heard: HeardFrame[];
  /** Arrival times of the flush messages (clear, killAudio, FLUSH_MEDIA, barge_in event). */
  readonly flushes: number[];
  /** Marks acknowledged to the bridge. */
  readonly acked: string[];
  /** Resolves when the connection has closed (by either side). */
  readonly closed: Promise<unknown>;
  close(): Promise<void>;
}

export function rmsOf(pcm: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += (pcm[i] as number) ** 2;
  return Math.sqrt(sum / Math.max(1, pcm.length));
}

/** Send `pcm` (at the client's rate) in 20 ms frames on an absolute real-time schedule. */
export async function playRealtime(client: PlatformClient, pcm: Int16Array, signal?: AbortSignal): Promise<void> {
  const step = client.rate / 50;
  const start = performance.now();
  for (let i = 0, n = 0; i < pcm.length && signal?.aborted !== true; i += step, n++) {
    const wait = start + n * 20 - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const frame = new Int16Array(step);
    frame.set(pcm.subarray(i, Math.min(pcm.length, i + step)));
    client.sendFrame(frame);
  }
}

/** Silence for `ms`, sent in real time (platforms stream continuously). */
export function silence(client: PlatformClient, ms: number): Promise<void> {
  return playRealtime(client, new Int16Array(Math.round((client.rate * ms) / 1000)));
}

/** The first heard frame louder than `rms` at or after `after`. */
export function firstLoud(client: PlatformClient, after: number, rms = 300): HeardFrame | undefined {
  return client.heard.find((f) => f.at >= after && f.rms > rms);
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
