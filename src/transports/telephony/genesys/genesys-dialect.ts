/**
 * Genesys Cloud AudioHook, the bot ("Audio Connector") variant (purecloudlabs/audiohook-reference-implementation
 * protocol/message.ts; pipecat serializers/genesys.py). Text frames are JSON `{version:"2", id, type, seq,
 * parameters}`; ours add `clientseq` (the last `seq` we got). Genesys opens with `open` (conversation,
 * participant `ani`/`dnis`, the media it offers); we answer `opened` with the one we take (PCMU 8 kHz,
 * the external channel: mono when offered, else the left of interleaved stereo). `ping` -> `pong`; `close`
 * -> `closed`, then the call ends. Audio: binary PCMU both ways, ours in 1,600-byte packets (200 ms; smaller
 * ones earn 429s); barge-in is an `event` with a `barge_in` entity; DTMF is a `dtmf` message; our hang-up
 * is `disconnect` (reason completed). There are no playout marks: played is estimated at real time.
 * The key: the `X-API-KEY` header (checked at the upgrade) or `customConfig.token`.
 */
import type { SocketClosed } from '../../ws/client-socket.ts';
import { BridgeLeg } from '../bridge-leg.ts';
import type { DialectSession, WsBridgeContext, WsDialect } from '../dialect.ts';
import { isDtmfDigit, numberField, objectField, parseJsonObject, safeId, stringField, type JsonObject } from '../json-message.ts';
import { ProtocolIssues } from '../protocol-issues.ts';
import { padPcm, wireCodec } from '../wire-codec.ts';

const FRAME_MS = 200;

interface Offer {
  readonly channels: readonly string[];
}

/** The offer we take: PCMU 8 kHz with the external channel, mono preferred. */
export function pickGenesysMedia(media: unknown): Offer | undefined {
  if (!Array.isArray(media)) return undefined;
  const offers: Offer[] = [];
  for (const o of media.slice(0, 16)) {
    const m = o !== null && typeof o === 'object' ? (o as JsonObject) : undefined;
    const channels = Array.isArray(m?.['channels']) ? (m?.['channels'] as unknown[]).filter((c): c is string => typeof c === 'string') : [];
    if (stringField(m, 'type') === 'audio' && stringField(m, 'format') === 'PCMU' && (numberField(m, 'rate') ?? 8000) === 8000 && channels[0] === 'external') {
      offers.push({ channels });
    }
  }
  return offers.find((o) => o.channels.length === 1) ?? offers[0];
}

class GenesysSession implements DialectSession {
  readonly #ctx: WsBridgeContext;
  readonly #issues: ProtocolIssues;
  readonly #codec = wireCodec('mulaw', 8000);
  #leg: BridgeLeg | undefined;
  #id = '';
  #seq = 0;
  #clientSeq = 0;
  #stereo = false;
  #closing = false;

  constructor(ctx: WsBridgeContext) {
    this.#ctx = ctx;
    this.#issues = new ProtocolIssues(ctx.logger);
  }

  text(data: Buffer): void {
    const m = parseJsonObject(data);
    const type = stringField(m, 'type', 64);
    if (m === undefined || type === undefined) {
      this.#issues.note('malformed', 'text frame is not an AudioHook message');
      return;
    }
    const seq = numberField(m, 'seq');
    if (seq !== undefined) this.#clientSeq = seq;
    if (type === 'open') {
      if (this.#leg !== undefined) this.#issues.note('duplicateStart', 'a second open');
      else this.#open(m);
      return;
    }
    if (type === 'ping') {
      this.#send('pong');
      return;
    }
    const leg = this.#leg;
    if (leg === undefined) {
      this.#issues.note('beforeStart', `${type} before open`);
      return;
    }
    switch (type) {
      case 'close':
        this.#closing = true;
        this.#send('closed');
        leg.remoteEnded({ reason: 'remote-hangup', detail: `Genesys closed the session (${stringField(objectField(m, 'parameters'), 'reason', 32) ?? 'no reason'})` });
        return;
      case 'dtmf': {
        const digit = objectField(m, 'parameters')?.['digit'];
        if (isDtmfDigit(digit)) leg.dtmf(digit.toUpperCase());
        else this.#issues.note('invalid', 'dtmf without a digit');
        return;
      }
      case 'error':
        this.#ctx.logger.warn({ code: numberField(objectField(m, 'parameters'), 'code') }, 'the telephony platform reported an error');
        return;
      case 'update':
      case 'paused':
      case 'resumed':
      case 'discarded':
      case 'playback_started':
      case 'playback_completed':
        return;
      default:
        this.#issues.note('unknownEvent', `unknown message type "${type}"`);
    }
  }

  binary(data: Buffer): void {
    const leg = this.#leg;
    if (leg === undefined) {
      this.#issues.note('mediaBeforeStart', 'audio before open');
      return;
    }
    const bytes = this.#stereo ? evenBytes(data) : data;
    leg.receive(this.#codec.decode(bytes));
    leg.receiveEncoded(bytes);
  }

  closed(closed: SocketClosed): void {
    this.#leg?.remoteEnded({ reason: closed.cause === 'client-closed' || this.#closing ? 'remote-hangup' : 'error', detail: closed.detail });
  }

  #open(m: JsonObject): void {
    const id = safeId(m['id']);
    const params = objectField(m, 'parameters');
    const offer = pickGenesysMedia(params?.['media']);
    if (id === undefined || offer === undefined) {
      this.#ctx.refuse(id === undefined ? 'open without a session id' : 'open offers no PCMU 8 kHz external channel', 1003);
      return;
    }
    this.#id = id;
    this.#stereo = offer.channels.length > 1;
    const participant = objectField(params, 'participant');
    const custom = objectField(params, 'customConfig');
    const socket = this.#ctx.socket;
    const issues = this.#issues;
    const codec = this.#codec;
    const format = { sampleRate: 8000, encoding: 'mulaw' as const };
    this.#leg = this.#ctx.begin(
      {
        platformCallId: safeId(params?.['conversationId']) ?? id,
        from: stringField(participant, 'ani'),
        to: stringField(participant, 'dnis'),
        token: stringField(custom, 'token', 1024),
        agent: stringField(custom, 'agent', 64),
      },
      (setup) =>
        new BridgeLeg({
          callId: setup.callId,
          medium: 'genesys',
          input: format,
          output: format,
          frameMs: FRAME_MS,
          pacer: setup.pacer,
          playout: setup.playout,
          queued: true,
          logger: setup.logger,
          wire: {
            // Fixed 1,600-byte packets (a reply's short last one padded with silence): smaller ones earn 429s.
            audio: (pcm) => socket.canSendAudio() && socket.sendBinary(Buffer.from(codec.encode(padPcm(pcm, 3200)))),
            clear: () => this.#send('event', { entities: [{ type: 'barge_in', data: {} }] }),
            hangup: () => {
              if (!this.#closing) this.#send('disconnect', { reason: 'completed' });
            },
            close: (code, reason) => socket.close(code, reason),
            stats: () => issues.stats(),
          },
        }),
    );
    if (this.#leg !== undefined) this.#send('opened', { startPaused: false, media: [{ type: 'audio', format: 'PCMU', channels: offer.channels, rate: 8000 }] });
  }

  #send(type: string, parameters: Record<string, unknown> = {}): void {
    this.#ctx.socket.sendText(JSON.stringify({ version: '2', type, seq: ++this.#seq, clientseq: this.#clientSeq, id: this.#id, parameters }));
  }
}

function evenBytes(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.byteLength >> 1);
  for (let i = 0; i < out.byteLength; i++) out[i] = data[2 * i] as number;
  return out;
}

export const genesysDialect: WsDialect = { name: 'genesys', subprotocols: [], open: (ctx) => new GenesysSession(ctx) };
