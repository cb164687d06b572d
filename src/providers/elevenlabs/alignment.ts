/**
 * ElevenLabs alignment payloads -> `TtsAlignment` (milliseconds from the start of the utterance).
 * HTTP with-timestamps gives seconds from the start of the request; the stream-input WebSocket
 * gives milliseconds relative to the audio chunk it arrives with (see the SDK's `Alignment` docs),
 * so the caller passes that chunk's offset.
 */
import type { TtsAlignment } from '../types.ts';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function numbers(v: unknown): number[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)) ? (v as number[]) : undefined;
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

/** `{characters, characterStartTimesSeconds, characterEndTimesSeconds}` (HTTP, as the SDK parsed it). */
export function alignmentFromSeconds(raw: unknown): TtsAlignment | undefined {
  if (!isRecord(raw)) return undefined;
  const chars = strings(raw.characters);
  const start = numbers(raw.characterStartTimesSeconds);
  const end = numbers(raw.characterEndTimesSeconds);
  if (chars === undefined || start === undefined || end === undefined) return undefined;
  if (chars.length === 0 || start.length !== chars.length || end.length !== chars.length) return undefined;
  return {
    chars,
    startMs: start.map((s) => s * 1000),
    durationMs: start.map((s, i) => Math.max(0, ((end[i] as number) - s) * 1000)),
  };
}

/** `{chars, charStartTimesMs, charDurationsMs}` (WebSocket), shifted by the chunk's offset. */
export function alignmentFromChunkMs(raw: unknown, offsetMs: number): TtsAlignment | undefined {
  if (!isRecord(raw)) return undefined;
  const chars = strings(raw.chars);
  const start = numbers(raw.charStartTimesMs);
  const dur = numbers(raw.charDurationsMs ?? raw.charsDurationsMs);
  if (chars === undefined || start === undefined || dur === undefined) return undefined;
  if (chars.length === 0 || start.length !== chars.length || dur.length !== chars.length) return undefined;
  return { chars, startMs: start.map((s) => s + offsetMs), durationMs: dur };
}
