import type { SipCall } from '../../../../../src/sip/user-agent/call-types.ts';
import { flush, type Harness } from './harness.ts';
import { Peer, sdp } from './peer.ts';

/** An answered, acknowledged inbound call from a fresh peer; returns the peer, the call and our tag. */
export async function establish(h: Harness, options: { offer?: string; peer?: Peer } = {}): Promise<{ peer: Peer; call: SipCall; tag: string }> {
  const peer = options.peer ?? new Peer();
  const before = h.calls.length;
  h.transport.deliver(peer.invite({ sdp: options.offer ?? sdp() }));
  await flush();
  const call = h.calls[before];
  if (call === undefined) throw new Error(`no call; wire:\n${h.transport.lines().join('\n')}`);
  const answered = call.answer();
  await flush();
  const ok = h.transport.last('SIP/2.0 200');
  h.transport.deliver(peer.ackFor(ok));
  await answered;
  return { peer, call, tag: ok.message.to?.tag ?? '' };
}
