/**
 * The WebSocket under `@google/genai`'s live client, supplied by us through the SDK's
 * `WebSocketFactory` seam (`ai.live.webSocketFactory`, the one private field this adapter touches).
 * Why not the SDK's own: its message handler runs `JSON.parse` in an un-awaited async function, so a
 * server frame that is not JSON becomes an unhandled rejection — a process crash under Node's
 * default policy. Here frames are checked first (bad ones are logged and dropped), and the adapter
 * can see close codes, the send buffer, and terminate a socket the SDK would wait on forever.
 */
import { WebSocket, type RawData } from 'ws';

/** The callbacks the SDK hands to its factory. */
interface SdkCallbacks {
  onopen: () => void;
  onerror: (e: unknown) => void;
  onmessage: (e: unknown) => void;
  onclose: (e: unknown) => void;
}

/** What the SDK expects back from its factory. */
interface SdkSocket {
  connect(): void;
  send(message: string): void;
  close(): void;
}

export interface LiveSocketHooks {
  onError(err: Error): void;
  onClose(code: number, reason: string): void;
  onMalformed(reason: string): void;
}

/** One factory per connection attempt: it holds the socket it made. */
export class LiveSocketFactory {
  readonly supportsHeaders = true;
  #ws: WebSocket | undefined;
  readonly #hooks: LiveSocketHooks;

  constructor(hooks: LiveSocketHooks) {
    this.#hooks = hooks;
  }

  get readyState(): number {
    return this.#ws?.readyState ?? WebSocket.CONNECTING;
  }

  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  /** Close with a normal close frame (a drop never reached the SDK's close()). */
  close(code = 1000, reason = ''): void {
    const ws = this.#ws;
    if (ws === undefined || ws.readyState === WebSocket.CLOSED || ws.readyState === WebSocket.CLOSING) return;
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(code, reason);
  }

  terminate(): void {
    const ws = this.#ws;
    if (ws !== undefined && ws.readyState !== WebSocket.CLOSED) ws.terminate();
  }

  create(url: string, headers: Record<string, string>, callbacks: SdkCallbacks): SdkSocket {
    return {
      connect: () => {
        const ws = new WebSocket(url, { headers, perMessageDeflate: false });
        this.#ws = ws;
        ws.on('open', () => callbacks.onopen());
        ws.on('message', (data: RawData) => {
          const text = toText(data);
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            this.#hooks.onMalformed('not JSON');
            return;
          }
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
            this.#hooks.onMalformed('not a JSON object');
            return;
          }
          // The SDK parses again; a string is what its handler expects of a text frame.
          callbacks.onmessage({ data: text });
        });
        ws.on('error', (err: Error) => {
          this.#hooks.onError(err);
          callbacks.onerror({ error: err, message: err.message });
        });
        ws.on('close', (code: number, reason: Buffer) => {
          const text = reason.toString('utf8');
          this.#hooks.onClose(code, text);
          callbacks.onclose({ code, reason: text, wasClean: code === 1000 });
        });
      },
      send: (message: string) => {
        const ws = this.#ws;
        if (ws === undefined || ws.readyState !== WebSocket.OPEN) throw new Error('WebSocket is not open');
        ws.send(message);
      },
      close: () => this.close(1000),
    };
  }
}

function toText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
