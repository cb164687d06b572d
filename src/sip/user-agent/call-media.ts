import type { CodecName } from '../sdp/codecs.ts';
import { acceptAnswer, answerOffer, createOffer, type Direction, type LocalMediaOptions, type NegotiatedAudio } from '../sdp/negotiate.ts';
import { parseSdp, serializeSdp, type SessionDescription } from '../sdp/sdp.ts';
import type { SipMediaEndpoint } from './media-endpoint.ts';

/** Media preferences of the user agent (from config `sip`). */
export interface MediaSettings {
  readonly codecs: readonly CodecName[];
  readonly ptime: number;
  /** RFC 4733 payload type offered for telephone-event. */
  readonly dtmfPayloadType: number;
  /** SDP address when the endpoint's is a wildcard (0.0.0.0 / ::): publicHost or the signalling address. */
  readonly fallbackAddress: string;
}

/** An answer to the peer's offer, ready to send, and what it settles (applied later by `apply`). */
export type AnswerOutcome =
  | { readonly ok: true; readonly body: string; readonly audio: NegotiatedAudio }
  | { readonly ok: false; readonly status: 488; readonly reason: string };

export type AcceptOutcome = { readonly ok: true; readonly audio: NegotiatedAudio } | { readonly ok: false; readonly reason: string };

/** What applying a negotiated stream changed. */
export interface MediaChange {
  readonly changed: boolean;
  /** The peer put us on hold (sendonly/inactive or c=0.0.0.0) before / after. */
  readonly heldBefore: boolean;
  readonly heldNow: boolean;
}

function sameAudio(a: NegotiatedAudio | undefined, b: NegotiatedAudio): boolean {
  return (
    a !== undefined &&
    a.codec === b.codec &&
    a.payloadType === b.payloadType &&
    a.dtmfPayloadType === b.dtmfPayloadType &&
    a.ptime === b.ptime &&
    a.remoteAddress === b.remoteAddress &&
    a.remotePort === b.remotePort &&
    a.direction === b.direction
  );
}

/**
 * Whether an offer has anything we could answer, worked out before any media is allocated (so a
 * 488 costs no port): the same negotiation against a placeholder address.
 */
export function checkOffer(body: Uint8Array, settings: MediaSettings): { readonly ok: true } | { readonly ok: false; readonly reason: string } {
  const parsed = parseSdp(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  if (!parsed.ok) return { ok: false, reason: `Not Acceptable Here - ${parsed.reason}` };
  const result = answerOffer(parsed.sdp, {
    address: '127.0.0.1',
    port: 9,
    codecs: settings.codecs,
    ptime: settings.ptime,
    dtmfPayloadType: settings.dtmfPayloadType,
    direction: 'sendrecv',
    sessionId: '1',
    sessionVersion: 0,
  });
  return result.ok ? { ok: true } : { ok: false, reason: `Not Acceptable Here - ${result.reason}` };
}

/**
 * One call's offer/answer state (RFC 3264) over its media endpoint: builds our offers and answers
 * (one o= session id; the version goes up whenever what we send changes, §8), reads the peer's, and
 * configures the endpoint when the agreed stream changes.
 */
export class CallMedia {
  readonly endpoint: SipMediaEndpoint;
  readonly #settings: MediaSettings;
  readonly #sessionId: string;
  #version = 0;
  #lastKey: string | undefined;
  #audio: NegotiatedAudio | undefined;
  #held = false;
  #closed = false;

  constructor(endpoint: SipMediaEndpoint, settings: MediaSettings, random: () => number = Math.random) {
    this.endpoint = endpoint;
    this.#settings = settings;
    this.#sessionId = String(Math.floor(random() * 1e9) + 1);
  }

  /** The stream agreed last, once offer/answer completed. */
  get audio(): NegotiatedAudio | undefined {
    return this.#audio;
  }

  /** Whether the peer holds us (per the last agreed stream). */
  get held(): boolean {
    return this.#held;
  }

  #local(direction: Direction): LocalMediaOptions {
    const a = this.endpoint.address;
    return {
      address: a === '0.0.0.0' || a === '::' || a === '' ? this.#settings.fallbackAddress : a,
      port: this.endpoint.port,
      codecs: this.#settings.codecs,
      ptime: this.#settings.ptime,
      dtmfPayloadType: this.#settings.dtmfPayloadType,
      direction,
      sessionId: this.#sessionId,
      sessionVersion: this.#version,
    };
  }

  /** Serialises what we send, bumping the o= version when the content differs from last time. */
  #serialize(sdp: SessionDescription): string {
    const key = serializeSdp({ ...sdp, origin: { ...sdp.origin, sessionVersion: '0' } });
    if (this.#lastKey !== undefined && key !== this.#lastKey) this.#version++;
    this.#lastKey = key;
    return serializeSdp({ ...sdp, origin: { ...sdp.origin, sessionVersion: String(this.#version) } });
  }

  /** Answers the peer's offer (`body` of an INVITE, re-INVITE or UPDATE); 488 when nothing fits. */
  answer(body: Uint8Array, direction: Direction = 'sendrecv'): AnswerOutcome {
    const parsed = parseSdp(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    if (!parsed.ok) return { ok: false, status: 488, reason: `Not Acceptable Here - ${parsed.reason}` };
    const result = answerOffer(parsed.sdp, this.#local(direction));
    if (!result.ok) return { ok: false, status: 488, reason: `Not Acceptable Here - ${result.reason}` };
    return { ok: true, body: this.#serialize(result.answer), audio: result.audio };
  }

  /** Our offer: every configured codec plus telephone-event, with `direction` (sendonly to hold). */
  offer(direction: Direction = 'sendrecv'): string {
    return this.#serialize(createOffer(this.#local(direction)));
  }

  /** Reads the peer's answer to our last offer. */
  acceptAnswer(body: Uint8Array, direction: Direction = 'sendrecv'): AcceptOutcome {
    const parsed = parseSdp(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    if (!parsed.ok) return { ok: false, reason: parsed.reason };
    const result = acceptAnswer(parsed.sdp, this.#local(direction));
    return result.ok ? { ok: true, audio: result.audio } : { ok: false, reason: result.reason };
  }

  /** Makes `audio` the agreed stream: configures the endpoint when anything changed. */
  apply(audio: NegotiatedAudio, localDirection: Direction = 'sendrecv'): MediaChange {
    const heldBefore = this.#held;
    const changed = !sameAudio(this.#audio, audio);
    this.#audio = audio;
    // Our direction says what the peer allows: recvonly/inactive while we wanted to send means it holds us.
    const wantSend = localDirection === 'sendrecv' || localDirection === 'sendonly';
    this.#held = wantSend && (audio.direction === 'recvonly' || audio.direction === 'inactive' || audio.remoteAddress === '0.0.0.0');
    if (changed && !this.#closed) this.endpoint.configure(audio);
    return { changed, heldBefore, heldNow: this.#held };
  }

  /** Releases the endpoint (once). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.endpoint.close();
  }
}
