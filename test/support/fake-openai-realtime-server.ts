/**
 * A local stand-in for OpenAI's Realtime GA endpoint (`wss://…/v1/realtime?model=M`) that speaks the
 * real event protocol, so tests drive the real `openai/realtime/ws` client against 127.0.0.1.
 *
 * TLS: the SDK always dials `wss://`, so the server holds a certificate made in memory at start
 * (`tls-cert.ts`); clients trust it with `{ ca: server.ca }`.
 *
 * Behaviour, per connection:
 * - `session.created` on connect; `session.update` is checked for the GA shape (`session.type`
 *   "realtime", formats under `audio.input`/`audio.output`, flat beta fields refused, `audio/pcm`
 *   only at 24 kHz) and answered with `session.updated` or an `error` event.
 * - `input_audio_buffer.append` audio is decoded, recorded byte for byte, and — with turn detection
 *   on — run through a small energy VAD: `speech_started` (cancelling a running response with reason
 *   `turn_detected`, as `interrupt_response` does), then after `vadSilenceMs` of quiet
 *   `speech_stopped`, `committed`, caller transcription if configured, and a response.
 *   Without turn detection, `input_audio_buffer.commit` + `response.create` do the same by hand.
 * - A response follows the next queued {@link FakeRealtimePlan} (or `defaultPlan`): audio — the
 *   caller's turn echoed back when input and output formats match, else a tone of the same length,
 *   or given bytes — paced like the real service (a burst, then faster than real time), with
 *   transcript deltas; or function calls, after which it waits for `function_call_output` items and
 *   a `response.create`. A second `response.create` while one is active is refused
 *   (`conversation_already_has_active_response`), as the service does.
 * - `response.cancel` with nothing active -> `error` `response_cancel_not_active`.
 * - `conversation.item.truncate` -> `conversation.item.truncated`, or an error when `audio_end_ms`
 *   exceeds the audio sent for the item.
 * Faults per connection index: `handshakeStatus` (refuse the upgrade), `stall` (accept the upgrade,
 * then never send a byte), `refuseSessionUpdate`. Scripted at any time through the connection:
 * `send`, `sendRaw` (malformed input), `sendMalformedBatch`, `drop(1006|1011)`, `sendAudioDelta`.
 * A wrong `Authorization: Bearer KEY` gets a 401 like the real service.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { alawDecode, alawEncode, mulawDecode, mulawEncode } from '../../src/media/g711.ts';
import { loopbackCertificate } from './tls-cert.ts';

export interface FakeRealtimePlan {
  /** What the response says: bytes in the session's output format, or 'echo' (the caller's last turn). */
  readonly audio?: Uint8Array | 'echo';
  readonly transcript?: string;
  /** Function calls instead of audio. */
  readonly toolCalls?: ReadonlyArray<{ readonly name: string; readonly arguments: string }>;
  /** Audio per delta (default 40 ms). */
  readonly chunkMs?: number;
  /** Audio sent at once before pacing starts (default 200 ms). */
  readonly burstMs?: number;
  /** Pace after the burst, as a multiple of real time (default 2). */
  readonly speed?: number;
}

export interface FakeRealtimeFaults {
  readonly handshakeStatus?: number;
  readonly stall?: boolean;
  readonly refuseSessionUpdate?: boolean;
}

export interface FakeRealtimeOptions {
  readonly apiKey: string;
  /** What caller transcription "hears" for each turn (default "hello there"). */
  readonly userTranscript?: string;
  /** Quiet that ends a caller turn under server VAD (default 200 ms). */
  readonly vadSilenceMs?: number;
  /** Mean absolute sample value that counts as speech (default 500). */
  readonly vadThreshold?: number;
  /** Keep every appended byte (default true; benchmarks turn it off). */
  readonly recordAudio?: boolean;
}

interface Format {
  readonly type: 'audio/pcm' | 'audio/pcmu' | 'audio/pcma';
  readonly rate: number;
}

const PCM24: Format = { type: 'audio/pcm', rate: 24000 };
const BETA_FIELDS = ['input_audio_format', 'output_audio_format', 'turn_detection', 'voice', 'modalities', 'input_audio_transcription', 'temperature'];

let seq = 0;
const nextId = (prefix: string): string => `${prefix}_${(++seq).toString(36).padStart(6, '0')}${randomUUID().slice(0, 8)}`;

function bytesPerMs(f: Format): number {
  return (f.rate * (f.type === 'audio/pcm' ? 2 : 1)) / 1000;
}

/** Linear samples of audio in format `f` (for the VAD and for tones). */
function decode(f: Format, bytes: Buffer): Int16Array {
  if (f.type === 'audio/pcmu') return mulawDecode(bytes);
  if (f.type === 'audio/pcma') return alawDecode(bytes);
  const copy = Buffer.from(bytes.subarray(0, bytes.length - (bytes.length % 2)));
  return new Int16Array(copy.buffer, copy.byteOffset, copy.length / 2);
}

/** A 440 Hz tone of `ms` in format `f`. */
export function toneIn(f: Format, ms: number, amplitude = 6000): Uint8Array {
  const n = Math.round((f.rate * ms) / 1000);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(amplitude * Math.sin((2 * Math.PI * 440 * i) / f.rate));
  if (f.type === 'audio/pcmu') return mulawEncode(pcm);
  if (f.type === 'audio/pcma') return alawEncode(pcm);
  return new Uint8Array(pcm.buffer);
}

/**
 * A deterministic energy VAD over 10 ms frames: speech starts on the first loud frame and stops
 * after `silenceMs` of quiet ones. Times are ms of audio since the stream began.
 */
export class EnergyVad {
  readonly #threshold: number;
  readonly #silenceMs: number;
  #speaking = false;
  #quietMs = 0;
  #ms = 0;
  #pending: number[] = [];
  readonly #rate: number;

  constructor(rate: number, threshold: number, silenceMs: number) {
    this.#rate = rate;
    this.#threshold = threshold;
    this.#silenceMs = silenceMs;
  }

  get speaking(): boolean {
    return this.#speaking;
  }

  /** Feed samples; returns the transitions they caused, in order. */
  push(samples: Int16Array): Array<{ kind: 'start' | 'stop'; ms: number }> {
    const out: Array<{ kind: 'start' | 'stop'; ms: number }> = [];
    const frame = this.#rate / 100;
    for (const s of samples) this.#pending.push(s);
    while (this.#pending.length >= frame) {
      const f = this.#pending.splice(0, frame);
      let sum = 0;
      for (const s of f) sum += Math.abs(s);
      const loud = sum / frame > this.#threshold;
      if (!this.#speaking && loud) {
        this.#speaking = true;
        this.#quietMs = 0;
        out.push({ kind: 'start', ms: this.#ms });
      } else if (this.#speaking) {
        this.#quietMs = loud ? 0 : this.#quietMs + 10;
        if (this.#quietMs >= this.#silenceMs) {
          this.#speaking = false;
          out.push({ kind: 'stop', ms: this.#ms + 10 });
        }
      }
      this.#ms += 10;
    }
    return out;
  }
}

interface ActiveResponse {
  readonly id: string;
  readonly itemId: string;
  readonly audio: Uint8Array;
  readonly words: string[];
  sent: number;
  spoken: string[];
  timer: NodeJS.Timeout | undefined;
}

/** One client connection: what it sent, and handles to script the server's side. */
export class FakeRealtimeConnection {
  readonly index: number;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  /** Every client event, parsed; appends keep only their decoded length (`audioBytes`). */
  readonly clientEvents: Array<Record<string, unknown>> = [];
  /** Appended caller audio, decoded from base64, in order. */
  readonly audio: Buffer[] = [];
  audioBytes = 0;
  /** The session config the last accepted `session.update` carried. */
  session: Record<string, unknown> | undefined;
  readonly functionOutputs: Array<{ callId: string; output: string }> = [];
  /** Text of user `message` items the client created (`input_text` parts joined). */
  readonly userTexts: string[] = [];
  /** Every `message` item the client created, in order (user, system, assistant). */
  readonly messageItems: Array<{ role: 'user' | 'system' | 'assistant'; text: string }> = [];
  readonly truncates: Array<{ itemId: string; audioEndMs: number }> = [];
  /** Responses as they ended. */
  readonly responses: Array<{ id: string; status: string; reason?: string; audioBytes: number; sentBeforeCancel?: number }> = [];
  /** Audio bytes sent per output item. */
  readonly itemAudioBytes = new Map<string, number>();
  readonly pendingCalls = new Set<string>();
  closeCode: number | undefined;
  readonly #ws: WebSocket;
  readonly #server: FakeOpenAiRealtimeServer;
  readonly #stall: boolean;
  #vad: EnergyVad | undefined;
  #turn: Buffer[] = [];
  #lastTurn: Buffer = Buffer.alloc(0);
  #active: ActiveResponse | undefined;
  #userItem: string | undefined;
  #previousItem: string | null = null;

  constructor(server: FakeOpenAiRealtimeServer, ws: WebSocket, index: number, req: IncomingMessage, faults: FakeRealtimeFaults) {
    this.#server = server;
    this.#ws = ws;
    this.index = index;
    this.url = new URL(req.url ?? '/', 'https://127.0.0.1');
    this.headers = req.headers;
    this.#stall = faults.stall === true;
    ws.on('message', (data: Buffer) => this.#onMessage(data, faults));
    ws.on('close', (code: number) => {
      this.closeCode = code;
      this.#stopActive();
    });
    ws.on('error', () => undefined);
    this.send({
      type: 'session.created',
      event_id: nextId('event'),
      session: {
        type: 'realtime',
        object: 'realtime.session',
        id: nextId('sess'),
        model: this.url.searchParams.get('model'),
        output_modalities: ['audio'],
        instructions: 'You are a helpful assistant.',
        tools: [],
        tool_choice: 'auto',
        max_output_tokens: 'inf',
        tracing: null,
        prompt: null,
        expires_at: Math.floor(Date.now() / 1000) + 3600,
        audio: {
          input: { format: PCM24, transcription: null, noise_reduction: null, turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 200, idle_timeout_ms: null, create_response: true, interrupt_response: true } },
          output: { format: PCM24, voice: 'alloy', speed: 1 },
        },
        include: null,
      },
    });
  }

  get open(): boolean {
    return this.#ws.readyState === this.#ws.OPEN;
  }

  get inputFormat(): Format {
    return formatOf(this.session, 'input');
  }

  get outputFormat(): Format {
    return formatOf(this.session, 'output');
  }

  /** Client events of one type. */
  eventsOf(type: string): Array<Record<string, unknown>> {
    return this.clientEvents.filter((e) => e.type === type);
  }

  send(event: Record<string, unknown>): void {
    if (this.#stall || this.#ws.readyState !== this.#ws.OPEN) return;
    this.#ws.send(JSON.stringify({ event_id: nextId('event'), ...event }));
  }

  /** Send exactly these bytes as a text (or binary) frame. */
  sendRaw(data: string | Buffer): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(data);
  }

  /** Malformed input of every kind a client must survive. */
  sendMalformedBatch(): void {
    this.sendRaw('{"type":"response.output_audio.delta", this is not json');
    this.sendRaw(Buffer.from([0xff, 0x00, 0x13]));
    this.sendRaw('[1,2,3]');
    this.send({ no_type: true });
    this.send({ type: 'response.output_audio.delta', delta: 12 });
    this.send({ type: 'response.function_call_arguments.done', call_id: 'x' });
    this.send({ type: 'response.done', response: 5 });
    this.send({ type: 'error', error: 'flat string' });
    this.send({ type: 'some.future.event', value: 1 });
  }

  /** One audio delta outside any scripted response (benchmarks time these). */
  sendAudioDelta(bytes: Uint8Array, responseId = 'resp_bench', itemId = 'item_bench'): void {
    this.send({
      type: 'response.output_audio.delta',
      response_id: responseId,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      delta: Buffer.from(bytes).toString('base64'),
    });
  }

  /** End the connection abruptly: 1006 destroys the socket, 1011 sends a close frame. */
  drop(code: 1006 | 1011): void {
    if (code === 1011) this.#ws.close(1011, 'internal server error');
    else this.#ws.terminate();
  }

  #onMessage(data: Buffer, faults: FakeRealtimeFaults): void {
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    } catch {
      this.clientEvents.push({ type: '(unparseable)' });
      return;
    }
    if (event.type === 'input_audio_buffer.append') {
      const bytes = Buffer.from(String(event.audio ?? ''), 'base64');
      this.clientEvents.push({ type: event.type, audioBytes: bytes.length });
      this.audioBytes += bytes.length;
      if (this.#server.options.recordAudio !== false) this.audio.push(bytes);
      this.#server.onAppend?.(this, bytes);
      if (!this.#stall) this.#onAudio(bytes);
      return;
    }
    this.clientEvents.push(event);
    if (this.#stall) return;
    switch (event.type) {
      case 'session.update':
        this.#onSessionUpdate(event, faults);
        return;
      case 'input_audio_buffer.commit':
        this.#commit(undefined);
        return;
      case 'response.create':
        this.#startResponse();
        return;
      case 'response.cancel':
        if (this.#active === undefined) {
          this.#error('invalid_request_error', 'response_cancel_not_active', 'Cancellation failed: no active response found', event);
        } else this.#cancelActive('client_cancelled');
        return;
      case 'conversation.item.create':
        this.#onItemCreate(event);
        return;
      case 'conversation.item.truncate':
        this.#onTruncate(event);
        return;
      default:
        this.#error('invalid_request_error', 'invalid_value', `Invalid value: '${String(event.type)}'. Supported values are: ...`, event);
    }
  }

  #onSessionUpdate(event: Record<string, unknown>, faults: FakeRealtimeFaults): void {
    const session = event.session as Record<string, unknown> | undefined;
    if (faults.refuseSessionUpdate === true) {
      this.#error('invalid_request_error', 'invalid_value', 'Invalid session configuration.', event, 'session');
      return;
    }
    if (typeof session !== 'object' || session === null) {
      this.#error('invalid_request_error', 'missing_required_parameter', "Missing required parameter: 'session'.", event, 'session');
      return;
    }
    if (session.type !== 'realtime') {
      this.#error('invalid_request_error', 'missing_required_parameter', "Missing required parameter: 'session.type'.", event, 'session.type');
      return;
    }
    for (const f of BETA_FIELDS) {
      if (f in session) {
        this.#error('invalid_request_error', 'unknown_parameter', `Unknown parameter: 'session.${f}'.`, event, `session.${f}`);
        return;
      }
    }
    for (const dir of ['input', 'output'] as const) {
      const fmt = ((session.audio as Record<string, Record<string, unknown>> | undefined)?.[dir]?.format ?? undefined) as Record<string, unknown> | undefined;
      if (fmt !== undefined && !(fmt.type === 'audio/pcmu' || fmt.type === 'audio/pcma' || (fmt.type === 'audio/pcm' && (fmt.rate ?? 24000) === 24000))) {
        this.#error('invalid_request_error', 'invalid_value', `Invalid value for 'session.audio.${dir}.format'.`, event, `session.audio.${dir}.format`);
        return;
      }
    }
    this.session = session;
    const input = this.inputFormat;
    const td = turnDetection(session);
    this.#vad = td === null ? undefined : new EnergyVad(input.rate, this.#server.options.vadThreshold ?? 500, this.#server.options.vadSilenceMs ?? 200);
    this.send({ type: 'session.updated', session: { object: 'realtime.session', id: nextId('sess'), ...session } });
  }

  #onAudio(bytes: Buffer): void {
    this.#turn.push(bytes);
    const vad = this.#vad;
    if (vad === undefined) return;
    for (const t of vad.push(decode(this.inputFormat, bytes))) {
      if (t.kind === 'start') {
        this.#userItem = nextId('item');
        // The turn's audio starts at the speech; what came before was silence.
        this.#turn = [bytes];
        this.send({ type: 'input_audio_buffer.speech_started', audio_start_ms: t.ms, item_id: this.#userItem });
        const td = turnDetection(this.session);
        if (this.#active !== undefined && td?.interrupt_response !== false) this.#cancelActive('turn_detected');
      } else {
        this.send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: t.ms, item_id: this.#userItem });
        this.#commit(this.#userItem);
        if (turnDetection(this.session)?.create_response !== false) this.#startResponse();
      }
    }
    // Quiet before any speech is not part of a turn; keep memory flat on long silent streams.
    if (!vad.speaking) this.#turn = this.#turn.slice(-1);
  }

  #commit(itemId: string | undefined): void {
    const audio = Buffer.concat(this.#turn);
    this.#turn = [];
    if (audio.length === 0) {
      this.#error('invalid_request_error', 'input_audio_buffer_commit_empty', 'Error committing input audio buffer: buffer too small.', undefined);
      return;
    }
    this.#lastTurn = audio;
    const id = itemId ?? nextId('item');
    this.send({ type: 'input_audio_buffer.committed', previous_item_id: this.#previousItem, item_id: id });
    this.send({ type: 'conversation.item.added', previous_item_id: this.#previousItem, item: { id, type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_audio', transcript: null }] } });
    this.#previousItem = id;
    const transcription = (this.session?.audio as Record<string, Record<string, unknown>> | undefined)?.input?.transcription;
    if (transcription !== undefined && transcription !== null) {
      const text = this.#server.options.userTranscript ?? 'hello there';
      for (const word of text.split(' ')) this.send({ type: 'conversation.item.input_audio_transcription.delta', item_id: id, content_index: 0, delta: `${word} ` });
      this.send({ type: 'conversation.item.input_audio_transcription.completed', item_id: id, content_index: 0, transcript: text, usage: { type: 'duration', seconds: 1 } });
    }
  }

  #startResponse(): void {
    if (this.#active !== undefined) {
      this.#error('invalid_request_error', 'conversation_already_has_active_response', `Conversation already has an active response in progress: ${this.#active.id}. Wait until the response is finished before creating a new one.`, undefined);
      return;
    }
    const plan = this.#server.plans.shift() ?? this.#server.defaultPlan;
    const id = nextId('resp');
    this.send({ type: 'response.created', response: { object: 'realtime.response', id, status: 'in_progress', status_details: null, output: [], conversation_id: 'conv_fake', output_modalities: ['audio'], max_output_tokens: 'inf', audio: { output: { format: this.outputFormat, voice: 'alloy' } }, usage: null, metadata: null } });
    if (plan.toolCalls !== undefined && plan.toolCalls.length > 0) {
      const output: Array<Record<string, unknown>> = [];
      plan.toolCalls.forEach((call, i) => {
        const itemId = nextId('item');
        const callId = nextId('call');
        const item = { id: itemId, type: 'function_call', status: 'in_progress', name: call.name, call_id: callId, arguments: '' };
        this.send({ type: 'response.output_item.added', response_id: id, output_index: i, item });
        this.send({ type: 'conversation.item.added', previous_item_id: this.#previousItem, item });
        const half = Math.floor(call.arguments.length / 2);
        for (const delta of [call.arguments.slice(0, half), call.arguments.slice(half)]) {
          this.send({ type: 'response.function_call_arguments.delta', response_id: id, item_id: itemId, output_index: i, call_id: callId, delta });
        }
        this.send({ type: 'response.function_call_arguments.done', response_id: id, item_id: itemId, output_index: i, call_id: callId, name: call.name, arguments: call.arguments });
        const done = { ...item, status: 'completed', arguments: call.arguments };
        this.send({ type: 'conversation.item.done', previous_item_id: this.#previousItem, item: done });
        this.send({ type: 'response.output_item.done', response_id: id, output_index: i, item: done });
        this.#previousItem = itemId;
        this.pendingCalls.add(callId);
        output.push(done);
      });
      this.send({ type: 'response.done', response: { object: 'realtime.response', id, status: 'completed', status_details: null, output, usage: usage() } });
      this.responses.push({ id, status: 'completed', audioBytes: 0 });
      return;
    }
    const format = this.outputFormat;
    const audio =
      plan.audio instanceof Uint8Array
        ? plan.audio
        : sameFormat(this.inputFormat, format)
          ? new Uint8Array(this.#lastTurn)
          : toneIn(format, this.#lastTurn.length / bytesPerMs(this.inputFormat));
    const itemId = nextId('item');
    const active: ActiveResponse = { id, itemId, audio, words: (plan.transcript ?? '').split(' ').filter((w) => w !== ''), sent: 0, spoken: [], timer: undefined };
    this.#active = active;
    const item = { id: itemId, type: 'message', role: 'assistant', status: 'in_progress', content: [] };
    this.send({ type: 'response.output_item.added', response_id: id, output_index: 0, item });
    this.send({ type: 'conversation.item.added', previous_item_id: this.#previousItem, item });
    this.#previousItem = itemId;
    this.send({ type: 'response.content_part.added', response_id: id, item_id: itemId, output_index: 0, content_index: 0, part: { type: 'audio', transcript: '' } });
    const chunkBytes = Math.max(1, Math.round((plan.chunkMs ?? 40) * bytesPerMs(format)));
    const burstBytes = Math.round((plan.burstMs ?? 200) * bytesPerMs(format));
    const intervalMs = (plan.chunkMs ?? 40) / (plan.speed ?? 2);
    const step = (): void => {
      active.timer = undefined;
      if (this.#active !== active || !this.open) return;
      do {
        const piece = active.audio.subarray(active.sent, active.sent + chunkBytes);
        if (piece.length > 0) {
          this.send({ type: 'response.output_audio.delta', response_id: id, item_id: itemId, output_index: 0, content_index: 0, delta: Buffer.from(piece).toString('base64') });
          active.sent += piece.length;
          this.itemAudioBytes.set(itemId, active.sent);
        }
        const word = active.words[active.spoken.length];
        if (word !== undefined) {
          active.spoken.push(word);
          this.send({ type: 'response.output_audio_transcript.delta', response_id: id, item_id: itemId, output_index: 0, content_index: 0, delta: active.spoken.length === 1 ? word : ` ${word}` });
        }
      } while (active.sent < burstBytes && active.sent < active.audio.length);
      if (active.sent < active.audio.length || active.spoken.length < active.words.length) active.timer = setTimeout(step, intervalMs);
      else this.#finishActive('completed', undefined);
    };
    step();
  }

  #cancelActive(reason: 'client_cancelled' | 'turn_detected'): void {
    const active = this.#active;
    const before = active?.sent;
    if (active !== undefined && reason === 'client_cancelled' && active.sent < active.audio.length) {
      // Like the service: a delta already on its way goes out before the cancellation lands.
      const piece = active.audio.subarray(active.sent, active.sent + Math.round(20 * bytesPerMs(this.outputFormat)));
      this.send({ type: 'response.output_audio.delta', response_id: active.id, item_id: active.itemId, output_index: 0, content_index: 0, delta: Buffer.from(piece).toString('base64') });
      active.sent += piece.length;
      this.itemAudioBytes.set(active.itemId, active.sent);
    }
    this.#finishActive('cancelled', reason);
    const record = this.responses.at(-1);
    if (record !== undefined && before !== undefined) record.sentBeforeCancel = before;
  }

  #finishActive(status: 'completed' | 'cancelled', reason: string | undefined): void {
    const active = this.#active;
    if (active === undefined) return;
    this.#stopActive();
    const { id, itemId } = active;
    const transcript = active.spoken.join(' ');
    const itemStatus = status === 'completed' ? 'completed' : 'incomplete';
    this.send({ type: 'response.output_audio.done', response_id: id, item_id: itemId, output_index: 0, content_index: 0 });
    this.send({ type: 'response.output_audio_transcript.done', response_id: id, item_id: itemId, output_index: 0, content_index: 0, transcript });
    this.send({ type: 'response.content_part.done', response_id: id, item_id: itemId, output_index: 0, content_index: 0, part: { type: 'audio', transcript } });
    const item = { id: itemId, type: 'message', role: 'assistant', status: itemStatus, content: [{ type: 'output_audio', transcript }] };
    this.send({ type: 'response.output_item.done', response_id: id, output_index: 0, item });
    this.send({ type: 'conversation.item.done', previous_item_id: null, item });
    this.send({
      type: 'response.done',
      response: { object: 'realtime.response', id, status, status_details: status === 'completed' ? null : { type: 'cancelled', reason }, output: [item], usage: usage() },
    });
    this.responses.push({ id, status, ...(reason === undefined ? {} : { reason }), audioBytes: active.sent });
  }

  #stopActive(): void {
    const active = this.#active;
    this.#active = undefined;
    if (active?.timer !== undefined) clearTimeout(active.timer);
  }

  #onItemCreate(event: Record<string, unknown>): void {
    const item = event.item as Record<string, unknown> | undefined;
    if (item?.type === 'message') {
      this.#onMessageItem(event, item);
      return;
    }
    if (item?.type !== 'function_call_output' || typeof item.call_id !== 'string' || typeof item.output !== 'string') {
      this.#error('invalid_request_error', 'invalid_value', 'Invalid conversation item.', event, 'item');
      return;
    }
    this.pendingCalls.delete(item.call_id);
    this.functionOutputs.push({ callId: item.call_id, output: item.output });
    const added = { id: nextId('item'), type: 'function_call_output', call_id: item.call_id, output: item.output, status: 'completed' };
    this.send({ type: 'conversation.item.added', previous_item_id: this.#previousItem, item: added });
    this.send({ type: 'conversation.item.done', previous_item_id: this.#previousItem, item: added });
    this.#previousItem = added.id;
  }

  /**
   * A message item in the GA shape: user and system text as `input_text` parts, assistant text as
   * `output_text` parts; anything else is refused as the service refuses it.
   */
  #onMessageItem(event: Record<string, unknown>, item: Record<string, unknown>): void {
    const content = item.content as Array<Record<string, unknown>> | undefined;
    const role = item.role;
    const partType = role === 'assistant' ? 'output_text' : 'input_text';
    if (
      (role !== 'user' && role !== 'system' && role !== 'assistant') ||
      !Array.isArray(content) ||
      content.length === 0 ||
      content.some((c) => c.type !== partType || typeof c.text !== 'string')
    ) {
      this.#error('invalid_request_error', 'invalid_value', 'Invalid conversation item.', event, 'item.content');
      return;
    }
    const text = content.map((c) => String(c.text)).join('');
    this.messageItems.push({ role, text });
    if (role === 'user') this.userTexts.push(text);
    const added = { id: nextId('item'), type: 'message', role, status: 'completed', content };
    this.send({ type: 'conversation.item.added', previous_item_id: this.#previousItem, item: added });
    this.send({ type: 'conversation.item.done', previous_item_id: this.#previousItem, item: added });
    this.#previousItem = added.id;
  }

  #onTruncate(event: Record<string, unknown>): void {
    const itemId = String(event.item_id);
    const ms = Number(event.audio_end_ms);
    this.truncates.push({ itemId, audioEndMs: ms });
    const sent = this.itemAudioBytes.get(itemId);
    if (sent === undefined) {
      this.#error('invalid_request_error', 'item_truncate_invalid_item_id', `Item with item_id not found: ${itemId}`, event, 'item_id');
      return;
    }
    const sentMs = Math.floor(sent / bytesPerMs(this.outputFormat));
    if (!(ms >= 0) || ms > sentMs) {
      this.#error('invalid_request_error', 'invalid_value', `Audio content of ${sentMs}ms is already shorter than ${ms}ms`, event, 'audio_end_ms');
      return;
    }
    this.send({ type: 'conversation.item.truncated', item_id: itemId, content_index: 0, audio_end_ms: ms });
  }

  #error(type: string, code: string, message: string, cause: Record<string, unknown> | undefined, param: string | null = null): void {
    this.send({ type: 'error', error: { type, code, message, param, event_id: (cause?.event_id as string | undefined) ?? null } });
  }
}

function sameFormat(a: Format, b: Format): boolean {
  return a.type === b.type && a.rate === b.rate;
}

function formatOf(session: Record<string, unknown> | undefined, dir: 'input' | 'output'): Format {
  const f = (session?.audio as Record<string, Record<string, unknown>> | undefined)?.[dir]?.format as Record<string, unknown> | undefined;
  if (f?.type === 'audio/pcmu') return { type: 'audio/pcmu', rate: 8000 };
  if (f?.type === 'audio/pcma') return { type: 'audio/pcma', rate: 8000 };
  return PCM24;
}

function turnDetection(session: Record<string, unknown> | undefined): Record<string, unknown> | null {
  const td = (session?.audio as Record<string, Record<string, unknown>> | undefined)?.input?.turn_detection;
  if (td === null) return null;
  return (td as Record<string, unknown> | undefined) ?? { type: 'server_vad' };
}

function usage(): Record<string, unknown> {
  return { total_tokens: 10, input_tokens: 5, output_tokens: 5, input_token_details: { text_tokens: 5, audio_tokens: 0, cached_tokens: 0 }, output_token_details: { text_tokens: 2, audio_tokens: 3 } };
}

export class FakeOpenAiRealtimeServer {
  readonly options: FakeRealtimeOptions;
  readonly connections: FakeRealtimeConnection[] = [];
  /** Upgrade attempts, including refused ones. */
  handshakes = 0;
  /** Plans for the next responses, in order; `defaultPlan` when empty. */
  readonly plans: FakeRealtimePlan[] = [];
  defaultPlan: FakeRealtimePlan = { audio: 'echo', transcript: 'you said something' };
  faultsFor: (index: number) => FakeRealtimeFaults = () => ({});
  /** Called for every appended chunk, after recording (benchmarks time arrivals). */
  onAppend: ((conn: FakeRealtimeConnection, bytes: Buffer) => void) | undefined;
  /** PEM certificate clients must trust (`{ ca }`), set by `start()`. */
  ca = '';
  #https: Server | undefined;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #sockets = new Set<Socket>();
  #port = 0;

  constructor(options: FakeRealtimeOptions) {
    this.options = options;
  }

  async start(): Promise<void> {
    const { key, cert } = await loopbackCertificate();
    this.ca = cert;
    const https = createServer({ key, cert }, (_req, res) => res.writeHead(404).end());
    this.#https = https;
    https.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    https.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.#onUpgrade(req, socket, head));
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    const addr = https.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    this.#port = addr.port;
  }

  /** `baseUrl` for the adapter (`/v1`; the SDK appends `/realtime?model=` and dials wss). */
  get baseUrl(): string {
    return `https://127.0.0.1:${this.#port}/v1`;
  }

  get openConnections(): number {
    return this.connections.filter((c) => c.open).length;
  }

  /** Resolve when `pred` holds (checked after every client message and on a short poll). */
  async waitFor(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`fake openai realtime: ${what} not within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async stop(): Promise<void> {
    for (const c of this.#wss.clients) c.terminate();
    for (const s of this.#sockets) s.destroy();
    const https = this.#https;
    if (https !== undefined) await new Promise<void>((resolve) => https.close(() => resolve()));
  }

  #onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const index = this.handshakes++;
    const faults = this.faultsFor(index);
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const reject = (status: number, body: object): void => {
      const text = JSON.stringify(body);
      socket.end(`HTTP/1.1 ${status} Rejected\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
    };
    if (url.pathname !== '/v1/realtime' || url.searchParams.get('model') === null) {
      return reject(404, { error: { message: 'Not found', type: 'invalid_request_error', code: null, param: null } });
    }
    if (req.headers.authorization !== `Bearer ${this.options.apiKey}`) {
      return reject(401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key', param: null } });
    }
    if (faults.handshakeStatus !== undefined) return reject(faults.handshakeStatus, { error: { message: 'fault', type: 'server_error', code: null, param: null } });
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.connections.push(new FakeRealtimeConnection(this, ws, index, req, faults));
    });
  }
}
