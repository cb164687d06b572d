/**
 * ElevenLabs WebSocket input streaming (`/v1/text-to-speech/{voice}/stream-input`) with `ws`: the
 * SDK has no client for it. Text goes out as the model writes it, so the first audio can start
 * after the first sentence. Wire protocol:
 * client `{"text":" ", voice_settings, generation_config: {chunk_length_schedule}}`, then
 * `{"text":"words ", "flush"?: true}`..., then `{"text":""}`; server
 * `{"audio": b64, "isFinal": null, "alignment": {chars, charStartTimesMs, charDurationsMs}}`...,
 * then `{"isFinal": true}`. The socket is opened while the model is still thinking, to hide the
 * handshake; aborting closes it at once.
 */
import { WebSocket } from 'ws';
import { BoundedChannel } from '../../core/bounded-channel.ts';
import { errorMessage } from '../../core/errors.ts';
import { silentLogger, type Logger } from '../../core/logger.ts';
import { ProviderError } from '../provider-error.ts';
import type { AudioEncoding, TtsChunk, TtsProvider, TtsRequest } from '../types.ts';
import { alignmentFromChunkMs } from './alignment.ts';
import type { ElevenLabsVoiceSettings } from './elevenlabs-http-tts.ts';
import { ELEVENLABS, ELEVENLABS_ENCODINGS, ELEVENLABS_RATES, outputFormatFor } from './output-format.ts';
import { PcmAssembler } from './pcm-assembler.ts';
import { TextBatcher } from './text-batcher.ts';
import { nextOrAbort } from './text-input.ts';

export interface ElevenLabsWsTtsOptions {
  readonly apiKey: string;
  /** HTTP(S) base, e.g. 'http://127.0.0.1:PORT'; turned into ws(s)://. Default the production API. */
  readonly baseUrl?: string;
  readonly voiceId: string;
  /** Default 'eleven_flash_v2_5'. */
  readonly modelId?: string;
  readonly voiceSettings?: ElevenLabsVoiceSettings;
  /** Characters buffered before each generation. Default [120, 160, 250, 290] (the vendor default). */
  readonly chunkLengthSchedule?: readonly number[];
  /** Default 5000. */
  readonly connectTimeoutMs?: number;
  /** Deadline from the first flush (or the end of the text) to the first audio. Default 10 000. */
  readonly firstAudioTimeoutMs?: number;
  readonly logger?: Logger;
}

const TRANSIENT_ERRORS = /rate_limit|too_many|busy|overload|timeout|unavailable/i;

function wsBase(baseUrl: string): string {
  return baseUrl.replace(/^http/, 'ws').replace(/\/+$/, '');
}

/** A server `{error, message}` payload or a close without isFinal -> ProviderError. */
function streamError(what: string, code: number | undefined, detail: string): ProviderError {
  if (/api[_ ]?key|unauthori[sz]ed|authenticat/i.test(detail)) {
    return new ProviderError(ELEVENLABS, 'CR_PROVIDER_AUTH', `${what}: ${detail}`, { retryable: false });
  }
  if (code === 1008 || (code === undefined && !TRANSIENT_ERRORS.test(detail))) {
    return new ProviderError(ELEVENLABS, 'CR_PROVIDER_REJECTED', `${what}: ${detail}`, { retryable: false });
  }
  return new ProviderError(ELEVENLABS, 'CR_PROVIDER_UNAVAILABLE', `${what}: ${detail}`, { retryable: true });
}

function handshakeError(err: Error): ProviderError {
  const status = /Unexpected server response: (\d{3})/.exec(err.message)?.[1];
  if (status !== undefined) return ProviderError.fromStatus(ELEVENLABS, Number(status), `handshake rejected (${status})`, err);
  if (/handshake has timed out/i.test(err.message)) {
    return new ProviderError(ELEVENLABS, 'CR_PROVIDER_TIMEOUT', 'connect timed out', { retryable: true, cause: err });
  }
  return new ProviderError(ELEVENLABS, 'CR_PROVIDER_UNAVAILABLE', `connect failed: ${err.message}`, { retryable: true, cause: err });
}

export class ElevenLabsWsTts implements TtsProvider {
  readonly name = 'elevenlabs-ws';
  readonly encodings: readonly AudioEncoding[] = ELEVENLABS_ENCODINGS;
  readonly sampleRates: readonly number[] = ELEVENLABS_RATES;
  readonly #o: ElevenLabsWsTtsOptions;
  readonly #logger: Logger;

  constructor(options: ElevenLabsWsTtsOptions) {
    this.#o = options;
    this.#logger = (options.logger ?? silentLogger()).child({ provider: 'elevenlabs-ws' });
  }

  async *synthesize(request: TtsRequest, signal?: AbortSignal): AsyncGenerator<TtsChunk> {
    if (signal?.aborted) return;
    const format = outputFormatFor(request.encoding, request.sampleRate);
    const o = this.#o;
    const voice = encodeURIComponent(request.voice ?? o.voiceId);
    const query = new URLSearchParams({ model_id: o.modelId ?? 'eleven_flash_v2_5', output_format: format });
    const url = `${wsBase(o.baseUrl ?? 'https://api.elevenlabs.io')}/v1/text-to-speech/${voice}/stream-input?${query}`;
    const chunks = new BoundedChannel<TtsChunk>(4096, 'drop-oldest');
    const stop = new AbortController();
    const pumpSignal = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
    const ws = new WebSocket(url, { headers: { 'xi-api-key': o.apiKey }, handshakeTimeout: o.connectTimeoutMs ?? 5000 });
    const pcm = request.encoding === 'pcm_s16le' ? new PcmAssembler() : undefined;
    const bytesPerMs = (request.sampleRate * (pcm !== undefined ? 2 : 1)) / 1000;
    let opened = false;
    let finished = false;
    let audioMs = 0;
    let firstAudioTimer: NodeJS.Timeout | undefined;
    const fail = (err: ProviderError): void => {
      if (finished) return;
      finished = true;
      chunks.close(err);
    };
    const onAbort = (): void => {
      finished = true;
      ws.terminate();
      chunks.close();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    ws.on('error', (err: Error) => {
      if (!opened) fail(handshakeError(err));
      else this.#logger.debug({ err: err.message }, 'elevenlabs-ws: socket error');
    });
    ws.on('close', (code: number, reason: Buffer) => {
      if (!finished && opened) fail(streamError('stream closed before isFinal', code, `${code} ${reason.toString() || 'no reason'}`));
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (finished) return;
      let msg: Record<string, unknown>;
      try {
        const v: unknown = isBinary ? undefined : JSON.parse(data.toString('utf8'));
        if (typeof v !== 'object' || v === null) throw new Error('not an object');
        msg = v as Record<string, unknown>;
      } catch {
        this.#logger.warn({ length: data.length }, 'elevenlabs-ws: malformed message ignored');
        return;
      }
      if (typeof msg.error === 'string' || (typeof msg.message === 'string' && msg.audio === undefined)) {
        fail(streamError('server error', undefined, `${String(msg.error ?? '')} ${String(msg.message ?? '')}`.trim()));
        ws.terminate();
        return;
      }
      if (typeof msg.audio === 'string' && msg.audio.length > 0) {
        clearTimeout(firstAudioTimer);
        const bytes = Buffer.from(msg.audio, 'base64');
        const offset = audioMs;
        audioMs += bytes.length / bytesPerMs;
        if (pcm !== undefined) {
          const samples = pcm.push(bytes);
          if (samples.length > 0) chunks.push({ type: 'audio', encoding: 'pcm_s16le', sampleRate: request.sampleRate, pcm: samples });
        } else if (bytes.length > 0) {
          chunks.push({ type: 'audio', encoding: request.encoding, sampleRate: request.sampleRate, bytes });
        }
        const alignment = alignmentFromChunkMs(msg.alignment, offset);
        if (alignment !== undefined) chunks.push({ type: 'alignment', alignment });
      }
      if (msg.isFinal === true) {
        finished = true;
        chunks.push({ type: 'done' });
        chunks.close();
        ws.close(1000);
      }
    });

    const armFirstAudio = (): void => {
      if (audioMs > 0 || firstAudioTimer !== undefined) return;
      firstAudioTimer = setTimeout(() => {
        fail(new ProviderError(ELEVENLABS, 'CR_PROVIDER_TIMEOUT', 'no audio before the first-audio deadline', { retryable: true }));
        ws.terminate();
      }, o.firstAudioTimeoutMs ?? 10_000);
    };

    const pump = async (): Promise<void> => {
      await new Promise<void>((resolve, reject) => {
        if (ws.readyState === WebSocket.OPEN) return resolve();
        ws.once('open', () => resolve());
        ws.once('close', () => reject(new Error('closed before open')));
      });
      opened = true;
      const send = (m: object): void => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
      };
      const vs = o.voiceSettings;
      send({
        text: ' ',
        ...(vs !== undefined
          ? {
              voice_settings: {
                ...(vs.stability !== undefined ? { stability: vs.stability } : {}),
                ...(vs.similarityBoost !== undefined ? { similarity_boost: vs.similarityBoost } : {}),
                ...(vs.style !== undefined ? { style: vs.style } : {}),
                ...(vs.useSpeakerBoost !== undefined ? { use_speaker_boost: vs.useSpeakerBoost } : {}),
                ...(vs.speed !== undefined ? { speed: vs.speed } : {}),
              },
            }
          : {}),
        generation_config: { chunk_length_schedule: [...(o.chunkLengthSchedule ?? [120, 160, 250, 290])] },
      });
      const batcher = new TextBatcher();
      const it = request.text[Symbol.asyncIterator]();
      let sentText = false;
      for (;;) {
        const r = await nextOrAbort(it, pumpSignal);
        if (r === 'aborted') {
          void it.return?.()?.catch(() => undefined);
          return;
        }
        const messages = r.done === true ? batcher.end() : batcher.push(r.value);
        for (const m of messages) {
          send(m.flush ? { text: m.text, flush: true } : { text: m.text });
          sentText = true;
          if (m.flush) armFirstAudio();
        }
        if (r.done === true) break;
      }
      if (!sentText) {
        // Nothing to say: no need to wait for the server.
        finished = true;
        chunks.push({ type: 'done' });
        chunks.close();
        ws.close(1000);
        return;
      }
      send({ text: '' });
      armFirstAudio();
    };
    const pumping = pump().catch((err: unknown) => {
      if (pumpSignal.aborted || finished) return;
      // The caller's text stream failed (or the socket closed before open, already reported).
      fail(err instanceof ProviderError ? err : new ProviderError(ELEVENLABS, 'CR_PROVIDER_INPUT', `text stream failed: ${errorMessage(err)}`, { retryable: false, cause: err }));
      ws.terminate();
    });

    try {
      for (;;) {
        const r = await chunks.next();
        if (r.done === true || signal?.aborted) return;
        yield r.value;
        if (r.value.type === 'done') return;
      }
    } catch (err) {
      if (signal?.aborted) return;
      const e = err instanceof ProviderError ? err : new ProviderError(ELEVENLABS, 'CR_PROVIDER_UNAVAILABLE', errorMessage(err), { retryable: true, cause: err });
      this.#logger.warn({ code: e.code, status: e.status, retryable: e.retryable }, 'elevenlabs-ws: synthesis failed');
      throw e;
    } finally {
      finished = true;
      clearTimeout(firstAudioTimer);
      signal?.removeEventListener('abort', onAbort);
      stop.abort();
      // A socket already closing after isFinal finishes its close handshake; anything else goes now.
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
      chunks.close();
      await pumping;
    }
  }
}
