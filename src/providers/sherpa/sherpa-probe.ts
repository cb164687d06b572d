/**
 * Loads a Sherpa-ONNX model once in a child process before the gateway loads it in-process.
 * sherpa-onnx (and onnxruntime inside it) does not throw on every bad model: for a model whose
 * metadata it does not expect it calls exit(), and for a corrupt file it aborts on an uncaught C++
 * exception, taking the whole gateway (every call) down. A child that dies tells us the same
 * thing safely, with the library's own message from its stderr.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { ProviderError } from '../provider-error.ts';

export type ProbeKind = 'online-recognizer' | 'offline-tts';

const SCRIPT = `
const sherpa = require(process.argv[1]);
const kind = process.argv[2];
const config = JSON.parse(process.argv[3]);
(async () => {
  if (kind === 'online-recognizer') new sherpa.OnlineRecognizer(config);
  else await sherpa.OfflineTts.createAsync(config);
  process.exit(0);
})().catch((e) => { process.stderr.write(String(e && e.message || e) + '\\n'); process.exit(3); });
`;

/** Resolves when the model loads in a child; rejects with a non-retryable ProviderError otherwise. */
export function probeModelLoad(provider: string, kind: ProbeKind, config: object, timeoutMs = 120_000): Promise<void> {
  const modulePath = createRequire(import.meta.url).resolve('sherpa-onnx-node');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', SCRIPT, modulePath, kind, JSON.stringify(config)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new ProviderError(provider, 'CR_PROVIDER_UNAVAILABLE', `model probe could not start: ${err.message}`, { retryable: false, cause: err }));
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const why = stderr
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '')
        .slice(-3)
        .join(' | ');
      reject(
        new ProviderError(provider, 'CR_PROVIDER_CONFIG', `model failed to load (${sig ?? `exit ${code}`}): ${why || 'no message'}`, {
          retryable: false,
        }),
      );
    });
  });
}
