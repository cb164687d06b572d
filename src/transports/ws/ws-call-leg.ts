import type { AudioFrame } from '../../core/audio-frame.ts';
import { Listeners, type Unsubscribe } from '../../core/listeners.ts';
import type { Logger } from '../../core/logger.ts';
import type { Pacer } from '../../media/rtp/pacer.ts';
import type { CallDtmf, CallLeg, LegAudioFormat, LegEncoding, LegEnd, OutputPosition } from '../../call/call-leg.ts';
import type { SessionEvent } from '../../call/session-events.ts';
import type { ClientSocket, SocketClosed } from './client-socket.ts';
import { ClientToolPort } from './client-tool-port.ts';
import { PacedOutput } from './paced-output.ts';
import { PcmFramer } from './pcm-framer.ts';
import type { ClientMessage, WsSampleRate } from './protocol.ts';
import { wireToFrame } from '../../media/wire-audio.ts';

export interface WsCallLegOptions {
  readonly callId: string;
  readonly socket: ClientSocket;
  readonly inputSampleRate: WsSampleRate;
  readonly outputSampleRate: WsSampleRate;
  /** The process-wide pacer outbound audio is released on. */
  readonly pacer: Pacer;
  /** `websocket.outboundBufferMs`. */
  readonly outboundBufferMs: number;
  /** `websocket.outboundLeadMs`. */
  readonly outboundLeadMs: number;
  readonly logger: Logger;
}

/**
 * A call over the Callroom WebSocket protocol as the call layer sees it (`CallLeg`): binary PCM both ways
 * (inbound cut into 20 ms frames, outbound paced in real time with a bounded buffer), the session's events
 * forwarded as JSON (`state`, `transcript`, `playback_clear_buffer`, `call_ended`), and client tools on the
 * same connection (`clientTools`), so a tool acts on exactly the call that asked for it.
 *
 * Endings: `hangup()` (local-hangup), the client's `hang_up` or a close frame (remote-hangup), a dropped
 * connection, ping timeout or oversized message (error, with a detail). Pending client-tool invocations are
 * answered with an error for the model when the call ends.
 */
export class WsCallLeg implements CallLeg {
  readonly medium = 'websocket';
  readonly id: string;
  readonly ended: Promise<LegEnd>;
  readonly clientTools: ClientToolPort;
  readonly transfer = undefined;
  readonly inputFormat: LegAudioFormat;
  readonly outputFormat: LegAudioFormat;
  readonly #socket: ClientSocket;
  readonly #logger: Logger;
  readonly #output: PacedOutput;
  readonly #framer: PcmFramer;
  readonly #frames: Listeners<AudioFrame>;
  readonly #encoded: Listeners<Uint8Array>;
  readonly #dtmf: Listeners<CallDtmf>;
  #resolveEnded!: (end: LegEnd) => void;
  #answered = false;
  #end: LegEnd | undefined;
  #droppedBeforeAnswer = 0;
  #clears = 0;

  constructor(options: WsCallLegOptions) {
    this.id = options.callId;
    this.#socket = options.socket;
    this.#logger = options.logger;
    this.inputFormat = { sampleRate: options.inputSampleRate, encoding: 'pcm_s16le' };
    this.outputFormat = { sampleRate: options.outputSampleRate, encoding: 'pcm_s16le' };
    const onError = (err: unknown): void => this.#logger.warn({ err }, 'call leg listener failed');
    this.#frames = new Listeners(onError);
    this.#encoded = new Listeners(onError);
    this.#dtmf = new Listeners(onError);
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    this.#framer = new PcmFramer(options.inputSampleRate, (frame) => this.#frames.emit(frame));
    this.#output = new PacedOutput({
      sampleRate: options.outputSampleRate,
      bufferMs: options.outboundBufferMs,
      leadMs: options.outboundLeadMs,
      pacer: options.pacer,
      transmit: (frame) => this.#socket.sendBinary(frame),
    });
    this.clientTools = new ClientToolPort({
      send: (message) => this.#socket.sendJson(message),
      error: (code, message, extra) => this.#socket.sendError(code, message, extra),
      onListenerError: onError,
    });
    this.#socket.setHandlers({
      onBinary: (data) => this.#onAudio(data),
      onMessage: (message) => this.#onMessage(message),
      onClose: (closed) => this.#onSocketClosed(closed),
    });
    // The socket may already be gone by the time the leg is built (a client that connects and drops at once).
    const closed = this.#socket.closed;
    if (closed !== undefined) this.#onSocketClosed(closed);
  }

  /** Starts the call for the client: `call_started`, then audio flows both ways. Idempotent. */
  async answer(): Promise<void> {
    if (this.#answered || this.#end !== undefined) return;
    this.#answered = true;
    this.#socket.sendJson({
      type: 'call_started',
      callId: this.id,
      inputSampleRate: this.inputFormat.sampleRate,
      outputSampleRate: this.outputFormat.sampleRate,
    });
    this.#output.start();
  }

  async hangup(): Promise<void> {
    this.#finish({ reason: 'local-hangup' }, true);
  }

  /**
   * The call layer refused the call (no such call waiting, call limit): the client gets an `error` with the
   * code and `call_ended` (rejected), and the connection closes.
   */
  refuse(code: string, message: string): void {
    if (this.#end !== undefined) return;
    this.#socket.sendError('call_rejected', message, { detail: code });
    this.#finish({ reason: 'rejected', detail: `${code}: ${message}` }, true, code === 'CR_CALL_LIMIT' ? 1013 : 1008);
  }

  /** The session failed (not a refusal): the client gets `call_ended` (error) and the connection closes (1011). */
  fail(detail: string): void {
    this.#finish({ reason: 'error', detail }, true, 1011);
  }

  /** The gateway is shutting down: the call ends for the client with 1001 (going away). */
  shutdown(): void {
    this.#finish({ reason: 'local-hangup', detail: 'gateway shutting down' }, true, 1001);
  }

  async sendDtmf(digits: string): Promise<void> {
    if (this.#answered) this.#socket.sendJson({ type: 'dtmf', digits });
  }

  onSessionEvent(event: SessionEvent): void {
    if (this.#end !== undefined) return;
    switch (event.type) {
      case 'state':
        this.#socket.sendJson({ type: 'state', state: event.state });
        return;
      case 'transcript':
        this.#socket.sendJson({
          type: 'transcript',
          role: event.role,
          text: event.text,
          final: event.final,
          atMs: event.atMs,
          ...(event.interrupted === true ? { interrupted: true } : {}),
        });
        return;
      case 'barge_in':
        // A session that only reports the barge-in still gets the client's buffer dropped; after its own
        // clearOutput() there is nothing left and no second message goes out.
        this.clearOutput();
        return;
      case 'ended':
        this.#finish(event.end, true);
        return;
      default:
        return;
    }
  }

  sendFrame(frame: AudioFrame): boolean {
    return this.#end === undefined && this.#output.sendFrame(frame);
  }

  write(frame: AudioFrame, signal?: AbortSignal): Promise<void> {
    return this.#output.write(frame, signal);
  }

  writeEncoded(bytes: Uint8Array, encoding: LegEncoding, signal?: AbortSignal): Promise<void> {
    return this.write(wireToFrame(bytes, encoding, this.outputFormat.sampleRate), signal);
  }

  drained(signal?: AbortSignal): Promise<void> {
    return this.#output.drained(signal);
  }

  pauseOutput(paused: boolean): void {
    this.#output.pause(paused);
  }

  clearOutput(): { readonly droppedMs: number } {
    const { droppedMs, clientHadAudio } = this.#output.clear();
    if (clientHadAudio && this.#end === undefined) {
      this.#clears++;
      this.#socket.sendJson({ type: 'playback_clear_buffer' });
    }
    return { droppedMs };
  }

  outputPosition(): OutputPosition {
    return this.#output.position();
  }

  mediaStats(): Readonly<Record<string, number>> {
    const s = this.#socket.stats();
    return {
      framesIn: this.#framer.frames,
      framesOut: this.#output.framesSent,
      droppedBeforeAnswer: this.#droppedBeforeAnswer,
      messagesIn: s.messagesIn,
      rateLimited: s.rateLimited,
      malformed: s.malformed,
      playbackClears: this.#clears,
    };
  }

  onFrame(fn: (frame: AudioFrame) => void): Unsubscribe {
    return this.#frames.add(fn);
  }

  /** Never called: the WebSocket medium carries PCM only (`inputFormat.encoding` is pcm_s16le). */
  onEncoded(fn: (bytes: Uint8Array, encoding: LegEncoding) => void): Unsubscribe {
    return this.#encoded.add((bytes) => fn(bytes, 'pcm_s16le'));
  }

  onDtmf(fn: (dtmf: CallDtmf) => void): Unsubscribe {
    return this.#dtmf.add(fn);
  }

  #onAudio(data: Buffer): void {
    if (this.#end !== undefined) return;
    if (!this.#answered) {
      // Said once: a client that streams from the moment it connects loses only what precedes call_started.
      if (this.#droppedBeforeAnswer++ === 0) this.#socket.sendError('unexpected_audio', 'audio before call_started is dropped');
      return;
    }
    this.#framer.push(data);
  }

  #onMessage(message: ClientMessage): void {
    if (this.#end !== undefined) return;
    switch (message.type) {
      case 'client_tool_result': {
        const delivered = this.clientTools.receive(message.response);
        if (delivered && message.responseType === 'hang-up') {
          this.#finish({ reason: 'remote-hangup', detail: 'a client tool result asked to hang up' }, true);
        }
        return;
      }
      case 'hang_up':
        this.#finish({ reason: 'remote-hangup', detail: 'client sent hang_up' }, true);
        return;
      default:
        return;
    }
  }

  #onSocketClosed(closed: SocketClosed): void {
    if (this.#end !== undefined) return;
    const reason = closed.cause === 'client-closed' ? 'remote-hangup' : 'error';
    this.#finish({ reason, detail: closed.detail }, false);
  }

  /** End once: stop audio, answer pending invocations, tell the client (when it can still hear), close. */
  #finish(end: LegEnd, notify: boolean, closeCode = 1000): void {
    if (this.#end !== undefined) return;
    this.#end = end;
    this.#output.stop();
    const outstanding = this.clientTools.disconnect();
    if (notify && this.#socket.open) {
      this.#socket.sendJson({ type: 'call_ended', reason: end.reason, ...(end.detail === undefined ? {} : { detail: end.detail }) });
    }
    this.#socket.close(closeCode, end.reason);
    this.#logger.info({ reason: end.reason, detail: end.detail, outstandingInvocations: outstanding, ...this.mediaStats() }, 'websocket call ended');
    this.#frames.clear();
    this.#encoded.clear();
    this.#dtmf.clear();
    this.#resolveEnded(end);
  }
}
