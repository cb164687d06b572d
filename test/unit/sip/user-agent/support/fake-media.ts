import { CallroomError } from '../../../../../src/core/errors.ts';
import type { NegotiatedAudio } from '../../../../../src/sip/sdp/negotiate.ts';
import type { SipMediaEndpoint, SipMediaFactory } from '../../../../../src/sip/user-agent/media-endpoint.ts';

/** An endpoint that only records what it is told. */
export class FakeEndpoint implements SipMediaEndpoint {
  readonly address: string;
  readonly port: number;
  readonly configured: NegotiatedAudio[] = [];
  closed = 0;

  constructor(address: string, port: number) {
    this.address = address;
    this.port = port;
  }

  configure(audio: NegotiatedAudio): void {
    this.configured.push(audio);
  }

  close(): void {
    this.closed++;
  }
}

/**
 * Hands out endpoints on made-up ports; `fail` makes the next allocations throw (ports exhausted);
 * `deferred` makes them asynchronous, completed by `complete()` (like binding a socket).
 */
export class FakeMediaFactory implements SipMediaFactory {
  readonly endpoints: FakeEndpoint[] = [];
  fail = false;
  deferred = false;
  readonly #waiting: (() => void)[] = [];
  #next = 30_000;

  allocate(): SipMediaEndpoint | Promise<SipMediaEndpoint> {
    if (this.fail) throw new CallroomError('CR_RTP_PORTS_EXHAUSTED', 'no free RTP port');
    const e = new FakeEndpoint('127.0.0.1', this.#next);
    this.#next += 2;
    this.endpoints.push(e);
    if (!this.deferred) return e;
    return new Promise((resolve) => this.#waiting.push(() => resolve(e)));
  }

  /** Completes the deferred allocations made so far. */
  complete(): void {
    for (const done of this.#waiting.splice(0)) done();
  }

  /** Endpoints not closed yet. */
  get open(): number {
    return this.endpoints.filter((e) => e.closed === 0).length;
  }
}
