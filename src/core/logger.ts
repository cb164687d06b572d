import { pino, type Logger as PinoLogger, type LoggerOptions } from 'pino';

/**
 * Structured JSON logger (pino). Messages are static strings; variable data goes in fields.
 * Sensitive payloads always go under their own keys so a deployment can redact them:
 * `transcript`, `digits`, `toolArgs`, `toolResult`.
 */
export type Logger = PinoLogger;

export const REDACTABLE_KEYS = ['transcript', 'digits', 'toolArgs', 'toolResult'] as const;

const SECRET_KEYS = ['apiKey', 'password', 'secret', 'token', 'authorization'] as const;

export interface LoggerSettings {
  level: string;
  /** Replace transcripts, digits and tool arguments with "[redacted]". */
  redactContent: boolean;
}

export function createLogger(settings: LoggerSettings, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: 'callroom' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      // Top level and two levels down: log calls put these keys in small objects, not deep trees.
      paths: [...SECRET_KEYS, ...(settings.redactContent ? REDACTABLE_KEYS : [])].flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
      censor: '[redacted]',
    },
  };
  // Asynchronous writes to stdout: a slow log reader must not stall the media path (flush at shutdown).
  return destination === undefined ? pino(options, pino.destination({ dest: 1, sync: false, minLength: 0 })) : pino(options, destination);
}

/** A logger that discards everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Child logger carrying the call id on every line. */
export function callLogger(parent: Logger, callId: string): Logger {
  return parent.child({ callId });
}
