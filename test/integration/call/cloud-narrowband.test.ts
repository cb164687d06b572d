/**
 * A G.711 (PCMU) call with the cloud providers through their real SDKs against local fakes of their wire
 * protocols: Deepgram hears the caller's mu-law bytes exactly as they came off RTP, the OpenAI model calls an
 * HTTP tool and answers with its result, and ElevenLabs' ulaw_8000 bytes reach the caller unchanged.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentSchema } from '../../../src/config/agent-schema.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { mulawEncode } from '../../../src/media/g711.ts';
import { DeepgramStt } from '../../../src/providers/deepgram/deepgram-stt.ts';
import { ElevenLabsHttpTts } from '../../../src/providers/elevenlabs/elevenlabs-http-tts.ts';
import { OpenAiLlm } from '../../../src/providers/openai/openai-llm.ts';
import { httpTool } from '../../../src/room/http-tool.ts';
import { ToolPolicy } from '../../../src/room/tool-policy.ts';
import { SileroVad } from '../../../src/vad/silero-vad.ts';
import { loadSpeech, startCallHarness, type CallHarness } from '../../support/call-harness.ts';
import { FakeDeepgramServer } from '../../support/fake-deepgram-server.ts';
import { FakeElevenLabsServer } from '../../support/fake-elevenlabs-server.ts';
import { FakeOpenAiServer, openAiTextChunks, openAiToolCallChunks } from '../../support/fake-openai-server.ts';
import { Upstream } from '../../support/upstream-http.ts';

let vad: SileroVad;
let harness: CallHarness | undefined;
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  vad = await SileroVad.load({ version: 'v5' });
  return () => vad.close();
});

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  for (const stop of stops.splice(0)) await stop();
});

/** Whether `needle` occurs in `hay` as one contiguous run. */
function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0];
  outer: for (let i = hay.indexOf(first as number); i >= 0 && i + needle.length <= hay.length; i = hay.indexOf(first as number, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

describe('a cloud narrowband call (PCMU, Deepgram + OpenAI + ElevenLabs fakes)', () => {
  it('passes mu-law straight through both ways and runs an HTTP tool', async () => {
    const dg = new FakeDeepgramServer({ apiKey: 'dg-key', transcript: ['what is the status of order four five six seven'], speechOnly: true, wordMs: 150 });
    await dg.start();
    const el = new FakeElevenLabsServer({ apiKey: 'el-key', msPerChar: 40 });
    await el.start();
    const ai = await FakeOpenAiServer.start();
    const orders = new Upstream();
    orders.reply = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"shipped","eta":"tomorrow"}');
    await orders.start();
    stops.push(() => dg.stop(), () => el.stop(), () => ai.close(), () => orders.stop());
    ai.enqueue({ chunks: openAiToolCallChunks([{ id: 'call_1', name: 'order_status', argumentChunks: ['{"order', 'Id":"4567"}'] }], 'Let me check. ') });
    ai.enqueue({ chunks: openAiTextChunks(['Order 4567 ', 'has shipped and arrives tomorrow.']) });

    const spec = agentSchema.parse({ name: 'cloud', llm: { provider: 'openai' } });
    const tool = httpTool({
      name: 'order_status',
      description: 'Status of an order',
      httpMethod: 'GET',
      baseUrlPattern: `${orders.base}/orders/{orderId}`,
      dynamicParameters: [{ name: 'orderId', location: 'path', required: true }],
      automaticParameters: [{ name: 'X-Api-Key', location: 'header', knownValue: 'orders-secret' }],
    });
    const agent = {
      spec,
      llm: new OpenAiLlm({ apiKey: 'sk-test', baseUrl: ai.baseUrl, model: 'gpt-test' }),
      stt: [new DeepgramStt({ apiKey: 'dg-key', baseUrl: dg.baseUrl, reconnect: { attempts: 0 }, logger: silentLogger() })],
      tts: [new ElevenLabsHttpTts({ apiKey: 'el-key', baseUrl: el.baseUrl, voiceId: 'voice-1' })],
      tools: [tool],
      policy: ToolPolicy.permitAll(),
    };
    harness = await startCallHarness({ agent, vad, gatewayCodecs: ['PCMU'] });
    const phone = await harness.dial();
    await phone.leg.answer();
    expect(phone.leg.inputFormat).toEqual({ sampleRate: 8000, encoding: 'mulaw' });
    const heardBytes: number[] = [];
    phone.leg.onEncoded((bytes) => heardBytes.push(...bytes));

    // The caller speaks: flite speech as mu-law code words, sent as RTP payloads.
    const question = mulawEncode(loadSpeech('order-status-kal16.wav', 8000));
    await phone.silence(300);
    for (let at = 0; at < question.length; at += 160) await phone.leg.writeEncoded(question.subarray(at, at + 160), 'mulaw');
    await phone.leg.drained();
    await phone.waitForReply({ after: performance.now(), quietMs: 1200, timeoutMs: 20_000 });

    // Deepgram was asked for mu-law at 8 kHz and got the caller's code words untouched.
    const conn = dg.connections[0];
    expect(conn?.query.get('encoding')).toBe('mulaw');
    expect(conn?.query.get('sample_rate')).toBe('8000');
    const dgBytes = new Uint8Array(Buffer.concat(conn?.audio ?? []));
    expect(contains(dgBytes, question.subarray(8000, 16000))).toBe(true);
    // The model got the transcript, called the tool; the tool got its path and hidden header.
    expect(JSON.stringify(ai.requests[0]?.body)).toContain('what is the status of order four five six seven');
    expect(orders.seen).toMatchObject([{ method: 'GET', rawUrl: '/orders/4567', headers: { 'x-api-key': 'orders-secret' } }]);
    // ElevenLabs was asked for ulaw_8000, and its bytes reached the caller unchanged.
    const ttsRequests = el.requests.filter((r) => r.kind !== undefined);
    expect(ttsRequests.length).toBeGreaterThanOrEqual(2);
    expect(ttsRequests.every((r) => r.query.get('output_format') === 'ulaw_8000')).toBe(true);
    const heard = Uint8Array.from(heardBytes);
    const { fakeAudio } = await import('../../support/fake-elevenlabs-server.ts');
    const sample = fakeAudio('ulaw_8000', 20, 40).bytes.subarray(0, 320);
    expect(contains(heard, new Uint8Array(sample))).toBe(true);
    const said = harness.events.map((e) => e.event).filter((e) => e.type === 'transcript' && e.final);
    expect(said.map((e) => (e.type === 'transcript' ? `${e.role}: ${e.text}` : ''))).toEqual([
      'user: what is the status of order four five six seven',
      'assistant: Let me check. Order 4567 has shipped and arrives tomorrow.',
    ]);
    await phone.leg.hangup();
  });
});
