/**
 * Audio codec throughput: table G.711 against the `alawmulaw` reference (samples/s and ratio),
 * G.722 encode/decode as real-time 16 kHz channels one core sustains, and the in-band DTMF detector (run on
 * the caller's audio of SIP calls without telephone-event) as channels per core at 8 and 16 kHz, against
 * G.711 decoding of the same audio. Everything runs the way the media path does: one 20 ms frame per call,
 * output buffers reused.
 */
import alawmulaw from 'alawmulaw';
import { alawDecode, alawEncode, mulawDecode, mulawEncode } from '../src/media/g711.ts';
import { G722Decoder, G722Encoder } from '../src/media/g722.ts';
import { InbandDtmfDetector } from '../src/media/dtmf-detector.ts';
import { printResults } from './types.ts';
import type { BenchResult } from './types.ts';

/** Call `step` (one frame of `samplesPerCall` samples) for about `ms` after a warm-up; samples per second. */
function rate(samplesPerCall: number, ms: number, step: () => void): number {
  const warmUntil = performance.now() + Math.min(200, ms / 4);
  while (performance.now() < warmUntil) for (let i = 0; i < 100; i++) step();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 200; i++) step();
    calls += 200;
    now = performance.now();
  }
  return (calls * samplesPerCall) / ((now - start) / 1000);
}

/** A 20 ms frame of speech-band noise with a tone, so every code path is exercised. */
function frame(samples: number, sampleRate: number): Int16Array {
  const out = new Int16Array(samples);
  let seed = 42;
  for (let i = 0; i < samples; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    out[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / sampleRate)) + ((seed >>> 18) - 8192);
  }
  return out;
}

/** Keeps results observable so the JIT cannot drop the work. */
let sink = 0;

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const ms = 1000;

  const pcm8k = frame(160, 8000);
  const bytes = new Uint8Array(160);
  const pcmOut = new Int16Array(160);
  const laws = [
    { name: 'mulaw', encode: mulawEncode, decode: mulawDecode, ref: alawmulaw.mulaw },
    { name: 'alaw', encode: alawEncode, decode: alawDecode, ref: alawmulaw.alaw },
  ] as const;
  for (const law of laws) {
    const codes = law.encode(pcm8k);
    const ours = rate(160, ms, () => {
      sink ^= law.encode(pcm8k, bytes)[7] as number;
    });
    const ref = rate(160, ms, () => {
      sink ^= law.ref.encode(pcm8k)[7] as number;
    });
    results.push({ name: `g711 ${law.name} encode (table)`, value: Math.round(ours), unit: 'samples/s' });
    results.push({ name: `g711 ${law.name} encode (alawmulaw)`, value: Math.round(ref), unit: 'samples/s' });
    results.push({ name: `g711 ${law.name} encode speed-up`, value: ours / ref, unit: 'x', note: 'table / alawmulaw' });

    const oursDec = rate(160, ms, () => {
      sink ^= law.decode(codes, pcmOut)[7] as number;
    });
    const refDec = rate(160, ms, () => {
      sink ^= law.ref.decode(codes)[7] as number;
    });
    results.push({ name: `g711 ${law.name} decode (table)`, value: Math.round(oursDec), unit: 'samples/s' });
    results.push({ name: `g711 ${law.name} decode (alawmulaw)`, value: Math.round(refDec), unit: 'samples/s' });
    results.push({ name: `g711 ${law.name} decode speed-up`, value: oursDec / refDec, unit: 'x', note: 'table / alawmulaw' });
  }

  const pcm16k = frame(320, 16000);
  const encoder = new G722Encoder();
  const g722Bytes = new Uint8Array(160);
  const encRate = rate(320, 2 * ms, () => {
    sink ^= encoder.encode(pcm16k, g722Bytes)[7] as number;
  });
  const stream = new G722Encoder().encode(pcm16k);
  const decoder = new G722Decoder();
  const g722Pcm = new Int16Array(320);
  const decRate = rate(320, 2 * ms, () => {
    sink ^= decoder.decode(stream, g722Pcm)[7] as number;
  });
  results.push({ name: 'g722 encode', value: Math.round(encRate / 16000), unit: 'channels/core', note: `${Math.round(encRate)} samples/s` });
  results.push({ name: 'g722 decode', value: Math.round(decRate / 16000), unit: 'channels/core', note: `${Math.round(decRate)} samples/s` });
  let keys = 0;
  for (const sampleRate of [8000, 16000]) {
    const samples = sampleRate / 50;
    const detector = new InbandDtmfDetector(sampleRate, () => keys++);
    const speechLike = frame(samples, sampleRate);
    const detRate = rate(samples, 2 * ms, () => detector.push(speechLike));
    results.push({ name: `in-band dtmf detector ${sampleRate / 1000} kHz`, value: Math.round(detRate / sampleRate), unit: 'channels/core', note: `${Math.round(detRate)} samples/s` });
    if (sampleRate === 8000) {
      const mulaw = new Uint8Array(160);
      mulawEncode(pcm8k, mulaw);
      const decodeRate = rate(160, ms, () => {
        sink ^= mulawDecode(mulaw, pcmOut)[7] as number;
      });
      results.push({ name: 'in-band dtmf detector / g711 decode cost', value: decodeRate / detRate, unit: 'x', note: 'per sample, 8 kHz' });
    }
  }
  sink ^= keys;
  if (sink === 0x7fffffff) console.log(''); // never true; reads sink
  return results;
}

if (import.meta.main) {
  printResults('codec', await run());
}
