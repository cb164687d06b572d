import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load-config.ts';
import { redactConfig } from '../config/redact.ts';
import { ConfigError, errorMessage } from '../core/errors.ts';
import { startGateway } from '../main.ts';
import { VERSION } from '../version.ts';
import { CALLS_USAGE, callsCommand } from './calls-command.ts';

const USAGE = `usage:
  callroom serve [--config FILE]     run the gateway (default config/default.yaml)
  callroom config check FILE         validate a config file and print it with secrets hidden
${CALLS_USAGE}
  callroom version                   print the version

serve: SIGTERM or SIGINT drains (no new calls, live calls finish up to drain.timeoutSeconds, then a goodbye
and BYE), flushes records, recordings and webhooks, and exits 0; a second signal exits at once.`;

/** Entry point of the `callroom` command. Returns the process exit code for one-shot commands. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'version':
    case '--version':
      process.stdout.write(`callroom ${VERSION} (node ${process.version})\n`);
      return 0;
    case 'config':
      return configCommand(rest);
    case 'serve':
      return serveCommand(rest);
    case 'calls':
      return callsCommand(rest, (t) => process.stdout.write(t), (t) => process.stderr.write(t));
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`callroom: unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

async function configCommand(args: readonly string[]): Promise<number> {
  const [sub, file, ...extra] = args;
  if (sub !== 'check' || file === undefined || extra.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  try {
    const config = await loadConfig(file);
    process.stdout.write(`${file}: ok\n${JSON.stringify(redactConfig(config), null, 2)}\n`);
    return 0;
  } catch (err) {
    return reportConfigError(err);
  }
}

async function serveCommand(args: readonly string[]): Promise<number> {
  let file: string;
  try {
    const { values } = parseArgs({ args: [...args], options: { config: { type: 'string', short: 'c' } } });
    file = values.config ?? 'config/default.yaml';
  } catch (err) {
    process.stderr.write(`callroom: ${errorMessage(err)}\n${USAGE}\n`);
    return 2;
  }
  let gateway;
  let forceAfterMs = 60_000;
  // A signal while starting (loading models takes a moment) is honoured once the start completes.
  let early: NodeJS.Signals | undefined;
  const onEarly = (signal: NodeJS.Signals): void => {
    early ??= signal;
  };
  process.on('SIGINT', onEarly);
  process.on('SIGTERM', onEarly);
  try {
    const config = await loadConfig(file);
    // The drain, the goodbyes and the final flushes, with room to spare; past that the process gives up.
    forceAfterMs = (config.drain.timeoutSeconds + config.drain.goodbyeMaxSeconds + 30) * 1000;
    gateway = await startGateway(config);
  } catch (err) {
    if (err instanceof ConfigError) return reportConfigError(err);
    process.stderr.write(`callroom: failed to start: ${errorMessage(err)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onEarly);
    process.off('SIGTERM', onEarly);
  }
  const started = gateway;
  if (early !== undefined) {
    started.logger.info({ signal: early }, 'shutting down');
    await started.close();
    return 0;
  }
  return new Promise<number>((resolve) => {
    // Keeps the process alive even in a configuration where nothing listens (e.g. http.enabled false).
    const keepAlive = setInterval(() => {}, 1 << 30);
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // A second signal: the operator does not want to wait for the drain.
        started.logger.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      stopping = true;
      started.logger.info({ signal }, 'shutting down');
      const force = setTimeout(() => {
        started.logger.error({ afterMs: forceAfterMs }, 'shutdown did not finish: exiting');
        resolve(1);
      }, forceAfterMs);
      force.unref();
      void (async () => {
        try {
          await started.drain();
        } catch (err) {
          started.logger.warn({ err: errorMessage(err) }, 'drain failed: closing');
        }
        await started.close();
      })().then(() => {
        clearTimeout(force);
        clearInterval(keepAlive);
        resolve(0);
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

function reportConfigError(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`callroom: ${err.message}\n`);
    return 1;
  }
  process.stderr.write(`callroom: ${errorMessage(err)}\n`);
  return 1;
}
