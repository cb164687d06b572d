/**
 * Run baresip 1.0.0 (Debian baresip-core) as a scripted SIP phone that plays a WAV and records what it
 * hears, driven over ctrl_tcp.
 *
 * What this recipe depends on (each seen on this machine):
 * - `net_interface 127.0.0.1`, or the SDP advertises another address.
 * - baresip also opens a TLS listener on SIP port + 1, so that port is reserved too (a ctrl port there
 *   fails with "Address already in use").
 * - `dial`, `hangup`, `sndcode`, `transfer` are `menu` commands: ctrl_tcp alone answers "command not found".
 * - `aufile` plays the WAV at the codec's rate only: 8 kHz for PCMU/PCMA, 16 kHz for G.722 (any other
 *   rate fails the audio source and the call hangs), and it hangs up when the file ends, so a callee
 *   that only records needs a long source (a silence WAV is generated here when none is given).
 * - `audio_codecs` entries need the rate for G.722 (`G722/16000/1`); `G722` alone means 8000 Hz and
 *   is "not found".
 * - `sndfile` writes `<snd_path>/dump-<local time to the second>-{enc,dec}.wav`; -dec is what was
 *   received, at the codec's rate. Two calls in one second overwrite each other's files.
 * - The callee answers 404 unless the Request-URI user is the account user.
 */
import { mkdtemp, mkdir, readdir, rm, stat, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaresipCtrl } from './baresip-ctrl.ts';
import { allocatePortBlock, releasePorts } from './free-ports.ts';
import { startProcess, type ManagedProcess, type ProcessExit } from './managed-process.ts';
import { writeSilenceWav } from './test-signal.ts';
import { waitForPort } from './wait-for-port.ts';

/** Codecs baresip offers, in preference order. */
export type BaresipCodec = 'PCMU' | 'PCMA' | 'G722';

const CODEC_SPEC: Record<BaresipCodec, string> = { PCMU: 'PCMU/8000/1', PCMA: 'PCMA/8000/1', G722: 'G722/16000/1' };
const CODEC_RATE: Record<BaresipCodec, number> = { PCMU: 8000, PCMA: 8000, G722: 16000 };

/** How to run baresip. Everything has a default. */
export interface BaresipOptions {
  /** Account user (the callee only answers this user). Default 'baresip'. */
  readonly user?: string;
  /** Config directory to write into; a temporary one (removed on stop) when omitted. */
  readonly configDir?: string;
  /** SIP port (UDP and TCP; +1 is taken by TLS). Allocated when omitted. */
  readonly sipPort?: number;
  /** ctrl_tcp port. Allocated when omitted. */
  readonly ctrlPort?: number;
  /** First of 20 RTP ports. Allocated when omitted. */
  readonly rtpPortBase?: number;
  /** Offered codecs, preferred first. Default ['PCMU']. */
  readonly codecs?: readonly BaresipCodec[];
  /** WAV played into calls, at the first codec's rate. Default: 60 s of silence. */
  readonly audioSource?: string;
  /** Directory for sndfile recordings; recording is off when omitted. */
  readonly recordDir?: string;
  /** Default 'auto'. */
  readonly answerMode?: 'auto' | 'manual';
  /** Digest credentials for the account (when baresip calls a trunk that challenges). */
  readonly auth?: { readonly username: string; readonly password: string };
  /** Extra `module` lines (file names such as 'l16.so'). */
  readonly extraModules?: readonly string[];
  /** Extra raw config lines. */
  readonly extraConfig?: readonly string[];
  /** Kill baresip after this long. Default 120,000 ms. */
  readonly timeoutMs?: number;
}

/** A running baresip. */
export interface BaresipPeer {
  readonly process: ManagedProcess;
  readonly ctrl: BaresipCtrl;
  readonly sipPort: number;
  readonly ctrlPort: number;
  /** `sip:user@127.0.0.1:port`, the address to dial it at. */
  readonly aor: string;
  readonly configDir: string;
  readonly recordDir: string | undefined;
  /** Recordings in `recordDir`, oldest first. */
  recordings(): Promise<{ readonly dec: string[]; readonly enc: string[] }>;
  /**
   * Wait for a `dump-*-dec.wav` (or -enc) that has stopped growing, and return its path.
   * @throws Error when none appears within `timeoutMs`.
   */
  waitForRecording(kind?: 'dec' | 'enc', timeoutMs?: number): Promise<string>;
  /** Quit baresip (SIGTERM, so sndfile closes its files), remove a temporary config dir. */
  stop(): Promise<ProcessExit>;
}

async function wavRate(file: string): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const head = Buffer.alloc(64);
    await fh.read(head, 0, 64, 0);
    const fmt = head.indexOf('fmt ', 12, 'latin1');
    if (head.toString('latin1', 0, 4) !== 'RIFF' || fmt < 0) throw new Error(`${file} is not a WAV file`);
    return head.readUInt32LE(fmt + 12);
  } finally {
    await fh.close();
  }
}

/** The config file text for these settings. */
export function baresipConfig(o: {
  sipPort: number;
  ctrlPort: number;
  rtpPortBase: number;
  audioSource: string;
  recordDir: string | undefined;
  extraModules: readonly string[];
  extraConfig: readonly string[];
}): string {
  const lines = [
    'poll_method epoll',
    'call_local_timeout 120',
    'call_max_calls 4',
    // No sound card: received audio goes to a null player, the source is a file.
    'audio_player aubridge,nil',
    'audio_alert aubridge,nil',
    `audio_source aufile,${o.audioSource}`,
    `sip_listen 127.0.0.1:${o.sipPort}`,
    'net_interface 127.0.0.1',
    `rtp_ports ${o.rtpPortBase}-${o.rtpPortBase + 19}`,
    'rtp_timeout 0',
    'jitter_buffer_delay 1-10',
    'module_path /usr/lib/baresip/modules',
    'module g711.so',
    'module g722.so',
    'module aufile.so',
    'module aubridge.so',
    ...(o.recordDir === undefined ? [] : ['module sndfile.so', `snd_path ${o.recordDir}`]),
    ...o.extraModules.map((m) => `module ${m}`),
    'module_tmp account.so',
    'module_app menu.so',
    'module_app ctrl_tcp.so',
    `ctrl_tcp_listen 127.0.0.1:${o.ctrlPort}`,
    ...o.extraConfig,
  ];
  return `${lines.join('\n')}\n`;
}

/** The accounts file line. */
export function baresipAccount(o: {
  user: string;
  sipPort: number;
  codecs: readonly BaresipCodec[];
  answerMode: 'auto' | 'manual';
  auth?: { readonly username: string; readonly password: string };
}): string {
  const params = [
    'regint=0',
    `answermode=${o.answerMode}`,
    `audio_codecs=${o.codecs.map((c) => CODEC_SPEC[c]).join(',')}`,
    ...(o.auth === undefined ? [] : [`auth_user=${o.auth.username}`, `auth_pass=${o.auth.password}`]),
  ];
  return `<sip:${o.user}@127.0.0.1:${o.sipPort}>;${params.join(';')}\n`;
}

/**
 * Start baresip and connect to its ctrl_tcp port.
 * @throws Error when the audio source has the wrong rate, or baresip does not come up.
 */
export async function runBaresip(opts: BaresipOptions = {}): Promise<BaresipPeer> {
  const codecs = opts.codecs ?? ['PCMU'];
  const first = codecs[0];
  if (first === undefined) throw new Error('baresip needs at least one codec');
  const rate = CODEC_RATE[first];
  if (opts.audioSource !== undefined) {
    const r = await wavRate(opts.audioSource);
    if (r !== rate) throw new Error(`baresip aufile plays ${first} from ${rate} Hz WAV only; ${opts.audioSource} is ${r} Hz`);
  }
  const allocated: number[] = [];
  const take = async (n: number): Promise<number> => {
    const base = await allocatePortBlock(n);
    for (let i = 0; i < n; i++) allocated.push(base + i);
    return base;
  };
  const sipPort = opts.sipPort ?? (await take(2));
  const ctrlPort = opts.ctrlPort ?? (await take(1));
  const rtpPortBase = opts.rtpPortBase ?? (await take(20));
  const ownDir = opts.configDir === undefined;
  const configDir = opts.configDir ?? (await mkdtemp(join(tmpdir(), 'callroom-baresip-')));
  await mkdir(configDir, { recursive: true });
  if (opts.recordDir !== undefined) await mkdir(opts.recordDir, { recursive: true });
  let audioSource = opts.audioSource;
  if (audioSource === undefined) {
    audioSource = join(configDir, `silence-${rate}.wav`);
    await writeSilenceWav(audioSource, 60, rate);
  }
  const user = opts.user ?? 'baresip';
  await writeFile(
    join(configDir, 'config'),
    baresipConfig({
      sipPort,
      ctrlPort,
      rtpPortBase,
      audioSource,
      recordDir: opts.recordDir,
      extraModules: opts.extraModules ?? [],
      extraConfig: opts.extraConfig ?? [],
    }),
  );
  await writeFile(join(configDir, 'accounts'), baresipAccount({ user, sipPort, codecs, answerMode: opts.answerMode ?? 'auto', auth: opts.auth }));
  await writeFile(join(configDir, 'contacts'), '');

  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaned ??= (async () => {
      releasePorts(allocated);
      if (ownDir) await rm(configDir, { recursive: true, force: true });
    })();
    return cleaned;
  };
  let proc: ManagedProcess;
  try {
    proc = await startProcess({
      command: 'baresip',
      args: ['-f', configDir],
      name: `baresip ${user}`,
      timeoutMs: opts.timeoutMs ?? 120_000,
      // baresip rewrites a status line many times a second; keep only the recent part.
      maxOutputChars: 100_000,
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
  // However it ends (stop(), stopAllProcesses(), a crash), its temporary config goes with it.
  void proc.exited.then(cleanup);
  let ctrl: BaresipCtrl;
  try {
    await waitForPort(ctrlPort, 'tcp', 10_000, () => proc.running);
    await waitForPort(sipPort, 'udp', 10_000, () => proc.running);
    ctrl = await BaresipCtrl.connect(ctrlPort);
  } catch (err) {
    await proc.stop();
    await cleanup();
    throw new Error(`baresip did not start: ${(err as Error).message}\n${proc.tail()}`, { cause: err });
  }

  const recordings = async (): Promise<{ dec: string[]; enc: string[] }> => {
    if (opts.recordDir === undefined) return { dec: [], enc: [] };
    const files = (await readdir(opts.recordDir)).filter((f) => /^dump-.*-(dec|enc)\.wav$/.test(f)).sort();
    const dir = opts.recordDir;
    return {
      dec: files.filter((f) => f.endsWith('-dec.wav')).map((f) => join(dir, f)),
      enc: files.filter((f) => f.endsWith('-enc.wav')).map((f) => join(dir, f)),
    };
  };

  return {
    process: proc,
    ctrl,
    sipPort,
    ctrlPort,
    aor: `sip:${user}@127.0.0.1:${sipPort}`,
    configDir,
    recordDir: opts.recordDir,
    recordings,
    async waitForRecording(kind = 'dec', timeoutMs = 10_000) {
      if (opts.recordDir === undefined) throw new Error('baresip was started without recordDir');
      const deadline = Date.now() + timeoutMs;
      let lastSize = -1;
      for (;;) {
        const file = (await recordings())[kind].at(-1);
        if (file !== undefined) {
          const size = (await stat(file)).size;
          // sndfile writes as audio arrives; a file that stopped growing for a poll is complete.
          if (size > 44 && size === lastSize) return file;
          lastSize = size;
        }
        if (Date.now() > deadline) throw new Error(`no finished ${kind} recording in ${opts.recordDir} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async stop() {
      ctrl.close();
      const exit = await proc.stop();
      await cleanup();
      return exit;
    },
  };
}
