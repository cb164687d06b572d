/**
 * Everything uac-basic-pcmu.xml needs, generated into a directory at test time: a speech-like 8 kHz
 * WAV, its 20 ms PCMU pcap, and an RFC 4733 pcap of some digits that continues the same RTP stream
 * (same SSRC, next sequence number and timestamp), plus the `-key` values that point SIPp at them.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readWav, toMono } from '../../../src/media/wav.ts';
import { pcmuPayloadsFromWav, writeRtpPcap, type RtpPcapInfo } from './rtp-pcap.ts';
import { speechLikeSignal, writeMonoWav } from './test-signal.ts';

/** Options for {@link writeBasicCallMedia}. */
export interface BasicCallMediaOptions {
  /** An 8 kHz WAV to send instead of generated audio (stereo is mixed down). */
  readonly wav?: string;
  /** Length of the generated audio. Default 2 s. */
  readonly seconds?: number;
  /** Seed of the generated audio. Default 1. */
  readonly seed?: number;
  /** Digits sent after the audio. Default '1#'. */
  readonly digits?: string;
  /** Tone length of each digit. Default 100 ms. */
  readonly digitMs?: number;
  /** Silence between digits (after the end packets). Default 100 ms. */
  readonly gapMs?: number;
  readonly ssrc?: number;
  /** Extra wait after each pcap before the next step (SIPp plays asynchronously). Default 300 ms. */
  readonly marginMs?: number;
}

/** The files written and what is in them. */
export interface BasicCallMedia {
  /** The audio as samples (8 kHz mono), to compare what a peer heard. */
  readonly source: Int16Array;
  readonly wavFile: string;
  readonly audioPcap: string;
  readonly dtmfPcap: string;
  /** PCMU payloads in the audio pcap, in order. */
  readonly payloads: readonly Uint8Array[];
  readonly ssrc: number;
  readonly digits: string;
  readonly audio: RtpPcapInfo;
  readonly dtmf: RtpPcapInfo;
  /** `-key` values for uac-basic-pcmu.xml. */
  readonly keys: { readonly pcap_audio: string; readonly pcap_dtmf: string; readonly audio_ms: number; readonly dtmf_ms: number };
}

/** Write the WAV and both pcaps into `dir`. */
export async function writeBasicCallMedia(dir: string, opts: BasicCallMediaOptions = {}): Promise<BasicCallMedia> {
  const digits = opts.digits ?? '1#';
  const digitMs = opts.digitMs ?? 100;
  const gapMs = opts.gapMs ?? 100;
  const ssrc = opts.ssrc ?? 0x5eed1234;
  const margin = opts.marginMs ?? 300;
  let wavFile = opts.wav;
  if (wavFile === undefined) {
    wavFile = join(dir, 'call-audio.wav');
    await writeMonoWav(wavFile, speechLikeSignal({ sampleRate: 8000, seconds: opts.seconds ?? 2, seed: opts.seed ?? 1 }), 8000);
  }
  // Through the WAV file, as a test with a recorded prompt would do it.
  const wav = readWav(await readFile(wavFile));
  const source = toMono(wav.samples, wav.channels);
  const payloads = pcmuPayloadsFromWav(wav);
  const audioPcap = join(dir, 'call-audio-pcmu.pcap');
  const audio = await writeRtpPcap({ payloads, ssrc }, audioPcap);
  // Each event takes its tone plus two more end packets (20 ms each) before the gap.
  const step = Math.ceil(digitMs / 20) * 20 + 40 + gapMs;
  const dtmfPcap = join(dir, 'call-dtmf.pcap');
  const dtmf = await writeRtpPcap(
    {
      ssrc,
      initialSequence: (audio.packets + 1) & 0xffff,
      initialTimestamp: audio.packets * 160,
      events: [...digits].map((digit, i) => ({ digit, startMs: i * step, durationMs: digitMs })),
    },
    dtmfPcap,
  );
  return {
    source,
    wavFile,
    audioPcap,
    dtmfPcap,
    payloads,
    ssrc,
    digits,
    audio,
    dtmf,
    keys: { pcap_audio: audioPcap, pcap_dtmf: dtmfPcap, audio_ms: Math.ceil(audio.durationMs + margin), dtmf_ms: Math.ceil(dtmf.durationMs + margin) },
  };
}
