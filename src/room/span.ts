/**
 * A minimal telemetry span interface, shaped like OpenTelemetry's (`startSpan`, attributes, status,
 * `end`) so an OTel tracer can be adapted in a few lines without the room depending on it.
 */

export type SpanAttributeValue = string | number | boolean;
export type SpanAttributes = Readonly<Record<string, SpanAttributeValue>>;
export type SpanStatus = 'ok' | 'error';

export interface Span {
  setAttribute(key: string, value: SpanAttributeValue): void;
  setStatus(status: SpanStatus, message?: string): void;
  end(): void;
}

export interface Tracer {
  startSpan(name: string, attributes?: SpanAttributes): Span;
}

const NOOP_SPAN: Span = {
  setAttribute() {},
  setStatus() {},
  end() {},
};

/** A tracer that records nothing (the default). */
export function noopTracer(): Tracer {
  return { startSpan: () => NOOP_SPAN };
}

/** A finished span as {@link RecordingTracer} keeps it. */
export interface RecordedSpan {
  readonly name: string;
  readonly attributes: Record<string, SpanAttributeValue>;
  status: SpanStatus | undefined;
  statusMessage: string | undefined;
  readonly startMs: number;
  endMs: number | undefined;
}

/** A tracer that keeps its spans in memory: for tests and for a debug endpoint. */
export class RecordingTracer implements Tracer {
  readonly spans: RecordedSpan[] = [];

  startSpan(name: string, attributes: SpanAttributes = {}): Span {
    const rec: RecordedSpan = {
      name,
      attributes: { ...attributes },
      status: undefined,
      statusMessage: undefined,
      startMs: performance.now(),
      endMs: undefined,
    };
    this.spans.push(rec);
    return {
      setAttribute: (key, value) => {
        rec.attributes[key] = value;
      },
      setStatus: (status, message) => {
        rec.status = status;
        rec.statusMessage = message;
      },
      end: () => {
        rec.endMs ??= performance.now();
      },
    };
  }
}
