/**
 * Runs INSIDE a loopback-only network namespace (started by rfc4475.test.ts through runInNetns): a
 * live user agent on UDP 127.0.0.1:5099, every RFC 4475 torture message sent to it from 127.0.0.1:5060
 * (where the responses to their Via hosts come back, RFC 3261 §18.2.2 with `received`), then a fuzz
 * burst of mutated torture messages. Prints one JSON line with what was answered and the state and
 * memory figures; the test asserts on it. Not a test file itself (no .test.ts suffix).
 */
import dgram from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configSchema } from '../../../../src/config/schema.ts';
import { parseMessage } from '../../../../src/sip/message/parse-message.ts';
import { createSipUserAgent } from '../../../../src/sip/user-agent/sip-user-agent.ts';
import { SocketMediaFactory } from './support.ts';

const fixtures = process.argv[2] ?? '';
const fuzzCount = Number(process.argv[3] ?? '20000');
const UA_PORT = 5099;
const T1 = 20;

/** Call-ID and CSeq of a message (responses copy both), to tell its responses from others'. */
function dialogKey(text: string): string {
  const callId = /^(?:call-id|i)[ \t]*:[ \t]*(\S+)/im.exec(text)?.[1] ?? '';
  const cseq = /^cseq[ \t]*:[ \t]*(\d+)/im.exec(text)?.[1] ?? '';
  return `${callId} ${cseq}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function bind(port: number): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.on('error', () => undefined);
  await new Promise<void>((resolve) => s.bind(port, '127.0.0.1', resolve));
  return s;
}

async function main(): Promise<void> {
  const config = configSchema.parse({
    sip: {
      listen: [{ transport: 'udp', host: '127.0.0.1', port: UA_PORT }],
      trunks: [{ name: 'local', cidrs: ['127.0.0.1/32'] }],
      timers: { t1: T1, t2: 400, t4: 500 },
      limits: { maxTransactions: 400, maxDialogs: 40, maxMessageBytes: 65_535, maxHeaders: 256, maxLineLength: 8192 },
    },
  }).sip;
  const media = await SocketMediaFactory.create(64);
  let answerCalls = false;
  const ua = await createSipUserAgent({ config, media, closeTimeoutMs: 500, ringTimeoutMs: 2_000 });
  ua.onCall((call) => {
    if (answerCalls) call.answer().catch(() => undefined);
    else call.reject(486);
  });

  // Responses come back to 127.0.0.1 at the Via sent-by port (5060 by default, quotbal 5050) or, with
  // rport / a parse failure, to the sending socket (5060).
  const replies: string[] = [];
  const listeners = [await bind(5060), await bind(5050), await bind(5070)];
  for (const s of listeners) s.on('message', (m) => replies.push(m.toString('latin1')));
  const sender = listeners[0] as dgram.Socket;

  const names = readdirSync(fixtures).filter((f) => f.endsWith('.dat')).map((f) => f.slice(0, -4)).sort();
  /** Status lines of the responses to each message, retransmissions left out. */
  const answers: Record<string, string[]> = {};
  // Several torture messages share a branch, sent-by and method (z9hG4bKkdjuw...): to the
  // transaction layer the second is a retransmission of the first (§17.2.3) and gets its response
  // again. Each is to be answered on its own, so wait out Timer J (64*T1) before such a one.
  const seenKeys = new Set<string>();
  for (const name of names) {
    const data = readFileSync(path.join(fixtures, `${name}.dat`));
    const parsed = parseMessage(data);
    const via = parsed.ok ? parsed.message.topVia : undefined;
    const txKey = parsed.ok && via?.branch !== undefined ? `${via.branch}|${via.sentBy}|${parsed.message.method}` : undefined;
    if (txKey !== undefined && seenKeys.has(txKey)) await sleep(64 * T1 + 200);
    if (txKey !== undefined) seenKeys.add(txKey);
    replies.length = 0;
    const key = dialogKey(data.toString('latin1'));
    sender.send(data, UA_PORT, '127.0.0.1');
    await sleep(100);
    const mine = replies.filter((r) => dialogKey(r) === key).map((r) => r.slice(0, r.indexOf('\r\n')));
    answers[name] = mine.filter((line, i) => mine.indexOf(line) === i);
  }

  // Fuzz burst: byte flips, truncations, dropped and duplicated lines, fresh Call-IDs and branches
  // (so mutants are new transactions, not retransmissions), and plain garbage. Calls are answered
  // now, so dialogs pile up against maxDialogs.
  answerCalls = true;
  const corpus = names.map((n) => readFileSync(path.join(fixtures, `${n}.dat`)));
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const mutate = (src: Buffer, i: number): Buffer => {
    let text = src.toString('latin1').replace(/z9hG4bK[\w.!%*+`'~-]*/g, `z9hG4bKfz${i}`).replace(/(Call-ID|i)\s*:\s*\S+/i, `Call-ID: fuzz-${i}`);
    const lines = text.split('\r\n');
    switch (rand(6)) {
      case 0: {
        const b = Buffer.from(text, 'latin1');
        for (let k = 0; k < 1 + rand(8); k++) b[rand(b.length)] = rand(256);
        return b;
      }
      case 1:
        return Buffer.from(text.slice(0, rand(text.length)), 'latin1');
      case 2:
        lines.splice(1 + rand(Math.max(1, lines.length - 1)), 1);
        break;
      case 3: {
        const at = 1 + rand(Math.max(1, lines.length - 1));
        lines.splice(at, 0, lines[at] ?? '');
        break;
      }
      case 4:
        return Buffer.from(Array.from({ length: 1 + rand(1400) }, () => rand(256)));
      default:
        break;
    }
    text = lines.join('\r\n');
    return Buffer.from(text, 'latin1');
  };

  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let maxTransactions = 0;
  let maxDialogs = 0;
  replies.length = 0;
  for (let i = 0; i < fuzzCount; i++) {
    const src = corpus[rand(corpus.length)] as Buffer;
    sender.send(mutate(src, i), UA_PORT, '127.0.0.1');
    if (i % 200 === 199) {
      await sleep(5);
      maxTransactions = Math.max(maxTransactions, ua.transactionCount);
      maxDialogs = Math.max(maxDialogs, ua.dialogCount);
      replies.length = 0;
    }
  }
  await sleep(300);
  maxTransactions = Math.max(maxTransactions, ua.transactionCount);
  maxDialogs = Math.max(maxDialogs, ua.dialogCount);
  const peakCalls = ua.calls.length;
  // Let 2xx retransmissions give up and Timers J/H/L expire (64*T1 = 1.28 s), then BYEs time out.
  await sleep(64 * T1 * 2 + 500);
  gc?.();
  const heapAfter = process.memoryUsage().heapUsed;

  // Still serving: a well-formed OPTIONS gets its 200.
  replies.length = 0;
  const options = [
    `OPTIONS sip:127.0.0.1:${UA_PORT} SIP/2.0`,
    'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKalive1',
    'Max-Forwards: 70',
    'From: <sip:probe@127.0.0.1>;tag=p1',
    `To: <sip:127.0.0.1:${UA_PORT}>`,
    'Call-ID: alive-1@127.0.0.1',
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  sender.send(Buffer.from(options), UA_PORT, '127.0.0.1');
  await sleep(200);
  const alive = replies.some((r) => r.startsWith('SIP/2.0 200') && r.includes('alive-1@127.0.0.1'));
  const parseable = replies.every((r) => parseMessage(Buffer.from(r, 'latin1')).ok);

  const result = {
    answers,
    fuzz: {
      sent: fuzzCount,
      maxTransactions,
      maxDialogs,
      peakCalls,
      callsAfter: ua.calls.length,
      dialogsAfter: ua.dialogCount,
      heapGrowthBytes: heapAfter - heapBefore,
      gc: gc !== undefined,
      alive,
      parseable,
      stats: ua.stats,
    },
  };
  await ua.close();
  media.close();
  for (const s of listeners) s.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
