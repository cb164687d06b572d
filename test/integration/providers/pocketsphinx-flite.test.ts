/**
 * Offline speech end to end on real audio: our flite adapter speaks the fixture sentences and our
 * pocketsphinx adapter recognises them.
 *
 * Word-error budget (documented, measured with Debian's pocketsphinx-en-us and the flite voices): the
 * order-status sentence comes back exactly at 16 kHz (kal16 and awb) and after a G.722 round trip;
 * other sentences may lose a word or two ("taxes" for "package", "meat" for "me"), so each stays at or
 * under 0.25 WER and the set averages at most 0.15. After an 8 kHz G.711 round trip the same audio
 * averages well above 0.3 WER, which is why the adapter refuses narrowband sessions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.ts';
import { SPEECH_FIXTURES, speak } from '../../../scripts/make-speech-fixtures.ts';
import { mulawDecode, mulawEncode } from '../../../src/media/g711.ts';
import { G722Decoder, G722Encoder } from '../../../src/media/g722.ts';
import { resampleBuffer } from '../../../src/media/resample/index.ts';
import { readWav } from '../../../src/media/wav.ts';
import { FliteTts } from '../../../src/providers/flite/flite-tts.ts';
import { PocketsphinxPool } from '../../../src/providers/pocketsphinx/decoder-pool.ts';
import { PocketsphinxStt } from '../../../src/providers/pocketsphinx/pocketsphinx-stt.ts';
import { ProviderError } from '../../../src/providers/provider-error.ts';
import { wordErrorRate } from '../../../src/providers/word-error-rate.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'speech');
const ORDER = 'i would like to check the status of my order number four five six seven';

const pool = new PocketsphinxPool({ maxDecoders: 2 });
const stt = new PocketsphinxStt({ logger: silentLogger(), pool });
const tts = new FliteTts({ workers: 1 });
afterAll(async () => {
  await tts.close();
  await pool.close();
});

/** Recognise 16 kHz audio (plus half a second of silence) and return the final text. */
async function recognise(pcm: Int16Array): Promise<string> {
  const session = await stt.open({ sampleRate: 16000 });
  const finals: string[] = [];
  const done = (async () => {
    for await (const e of session.events()) if (e.type === 'transcript' && e.isFinal && e.text !== '') finals.push(e.text);
  })();
  const all = new Int16Array(pcm.length + 8000);
  all.set(pcm);
  for (let i = 0; i < all.length; i += 320) session.write({ samples: all.subarray(i, i + 320), sampleRate: 16000, timestamp: i / 16 });
  await session.close();
  await done;
  return finals.join(' ');
}


/** 16 kHz -> 8 kHz -> mu-law -> linear -> 16 kHz: what a G.711 call leg does to the audio. */
function g711RoundTrip(pcm: Int16Array): Int16Array {
  return resampleBuffer(mulawDecode(mulawEncode(resampleBuffer(pcm, 16000, 8000))), 8000, 16000);
}

function g722RoundTrip(pcm: Int16Array): Int16Array {
  return new G722Decoder().decode(new G722Encoder().encode(pcm));
}

describe('flite speaks, pocketsphinx recognises (16 kHz)', () => {
  it('"I would like to check the status of my order number four five six seven" comes back exactly (kal16, awb)', async () => {
    for (const voice of ['kal16', 'awb']) {
      const pcm = await speak(tts, 'I would like to check the status of my order number four five six seven.', voice);
      expect(await recognise(pcm), voice).toBe(ORDER);
    }
  });

  it('every fixture sentence stays within the word-error budget', async () => {
    const wers: number[] = [];
    for (const f of SPEECH_FIXTURES) {
      const pcm = await speak(tts, f.text, f.voice);
      const text = await recognise(pcm);
      const wer = wordErrorRate(f.words, text);
      expect(wer, `${f.file}: "${text}"`).toBeLessThanOrEqual(0.25);
      wers.push(wer);
    }
    expect(wers.reduce((a, b) => a + b, 0) / wers.length).toBeLessThanOrEqual(0.15);
  });

  it('the committed fixtures are what flite says today', async () => {
    for (const f of SPEECH_FIXTURES.slice(0, 2)) {
      const live = await speak(tts, f.text, f.voice);
      const committed = readWav(readFileSync(join(FIXTURES, f.file))).samples;
      expect(live.length).toBe(committed.length);
      expect(Buffer.from(live.buffer).equals(Buffer.from(committed.buffer))).toBe(true);
    }
  });
});

describe('codec round trips', () => {
  it('after a G.722 round trip the order sentence is still exact', async () => {
    const pcm = readWav(readFileSync(join(FIXTURES, 'order-status-kal16.wav'))).samples;
    expect(await recognise(g722RoundTrip(pcm))).toBe(ORDER);
  });

  it('an 8 kHz G.711 round trip ruins recognition, and 8 kHz sessions are refused with CR_STT_NARROWBAND_UNSUPPORTED', async () => {
    const wers: number[] = [];
    for (const f of SPEECH_FIXTURES) {
      const pcm = readWav(readFileSync(join(FIXTURES, f.file))).samples;
      wers.push(wordErrorRate(f.words, await recognise(g711RoundTrip(pcm))));
    }
    expect(wers.reduce((a, b) => a + b, 0) / wers.length).toBeGreaterThan(0.3);
    const err = await stt.open({ sampleRate: 8000, encoding: 'mulaw' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ code: 'CR_STT_NARROWBAND_UNSUPPORTED', retryable: false });
    expect(stt.supportsSampleRate(8000)).toBe(false);
  });
});
