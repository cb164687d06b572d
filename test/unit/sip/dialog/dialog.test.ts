import { describe, expect, it } from 'vitest';
import { Dialog } from '../../../../src/sip/dialog/dialog.ts';
import { dialogKey, requestDialogId, responseDialogId } from '../../../../src/sip/dialog/dialog-id.ts';
import { inviteViaProxies, msg } from './support.ts';

const CONTACT = '<sip:192.0.2.10:5060>';
const UDP = { transport: 'udp' as const, remoteAddress: '192.0.2.2' };

describe('UAS dialog (RFC 3261 §12.1.1)', () => {
  const invite = inviteViaProxies();
  const dialog = Dialog.forUas(invite, { localTag: 'ours', localContact: CONTACT, flow: UDP, state: 'early' });

  it('takes its id, URIs, sequence numbers, remote target and route set from the INVITE', () => {
    expect(dialog.id).toEqual({ callId: 'dlg-1@192.0.2.50', localTag: 'ours', remoteTag: 'from-1' });
    expect(dialog.role).toBe('uas');
    expect(dialog.state).toBe('early');
    expect(dialog.remoteSeq).toBe(10);
    expect(dialog.localSeq).toBeUndefined();
    expect(dialog.remoteTarget.toString()).toBe('sip:caller@192.0.2.50:5060');
    // The route set in the order of Record-Route (UAS side).
    expect(dialog.routeSet.map(String)).toEqual(['<sip:192.0.2.2;lr>', '<sip:192.0.2.1;lr>']);
    expect(dialog.localUri.toString()).toBe('<sip:agent@example.com>');
    expect(dialog.remoteUri.toString()).toBe('"Caller" <sip:caller@example.net>');
  });

  it('builds in-dialog requests along the route set with swapped From/To and a fresh CSeq', () => {
    const bye = dialog.createRequest('BYE');
    expect(bye.requestUri).toBe('sip:caller@192.0.2.50:5060');
    expect(bye.getAll('route')).toEqual(['<sip:192.0.2.2;lr>', '<sip:192.0.2.1;lr>']);
    expect(bye.from?.tag).toBe('ours');
    expect(bye.from?.uri.toString()).toBe('sip:agent@example.com');
    expect(bye.to?.tag).toBe('from-1');
    expect(bye.cseq).toEqual({ seq: 1, method: 'BYE' });
    expect(bye.has('contact')).toBe(false);
    const refer = dialog.createRequest('REFER');
    expect(refer.cseq?.seq).toBe(2);
    expect(refer.get('contact')).toBe(CONTACT);
    // The next hop is the first (loose) route, not the remote target.
    const route = dialog.destinationFor(bye);
    expect(route.ok && route.destination).toEqual({ transport: 'udp', address: '192.0.2.2', port: 5060 });
  });

  it('rejects a remote CSeq lower than the last one and accepts a higher one (§12.2.2)', () => {
    const d = Dialog.forUas(inviteViaProxies(), { localTag: 't', localContact: CONTACT, flow: UDP, state: 'confirmed' });
    const req = (seq: number, method = 'INFO') =>
      msg([`${method} sip:agent@192.0.2.10 SIP/2.0`, 'Via: SIP/2.0/UDP 192.0.2.50;branch=z9hG4bKx', 'From: <sip:caller@example.net>;tag=from-1', 'To: <sip:agent@example.com>;tag=t', 'Call-ID: dlg-1@192.0.2.50', `CSeq: ${seq} ${method}`]);
    expect(d.acceptRemoteSeq(req(9))).toBe(false);
    expect(d.acceptRemoteSeq(req(11))).toBe(true);
    expect(d.remoteSeq).toBe(11);
    expect(d.acceptRemoteSeq(req(10))).toBe(false);
    // ACK and CANCEL carry the number of the request they belong to.
    expect(d.acceptRemoteSeq(req(10, 'ACK'))).toBe(true);
  });

  it('refreshes the remote target from a re-INVITE Contact', () => {
    const d = Dialog.forUas(inviteViaProxies(), { localTag: 't', localContact: CONTACT, flow: UDP, state: 'confirmed' });
    const reinvite = msg(['INVITE sip:agent@192.0.2.10 SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.50;branch=z9hG4bKy', 'From: <sip:caller@example.net>;tag=from-1', 'To: <sip:agent@example.com>;tag=t', 'Call-ID: dlg-1@192.0.2.50', 'CSeq: 11 INVITE', 'Contact: <sip:caller@192.0.2.77:5090;transport=tcp>']);
    expect(d.refreshTarget(reinvite)).toBe(true);
    expect(d.createRequest('BYE').requestUri).toBe('sip:caller@192.0.2.77:5090;transport=tcp');
  });
});

describe('UAC dialog (RFC 3261 §12.1.2)', () => {
  const invite = msg([
    'INVITE sip:callee@192.0.2.60:5060 SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKours',
    'From: <sip:callroom@192.0.2.10>;tag=uac-tag',
    'To: <sip:callee@192.0.2.60>',
    'Call-ID: out-1@192.0.2.10',
    'CSeq: 5 INVITE',
    'Contact: <sip:192.0.2.10:5060>',
  ]);
  const response = (status: number, tag: string, extra: readonly string[] = []) =>
    msg([
      `SIP/2.0 ${status} X`,
      'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKours',
      'Record-Route: <sip:192.0.2.1;lr>',
      'Record-Route: <sip:192.0.2.2;lr>',
      'From: <sip:callroom@192.0.2.10>;tag=uac-tag',
      `To: <sip:callee@192.0.2.60>;tag=${tag}`,
      'Call-ID: out-1@192.0.2.10',
      'CSeq: 5 INVITE',
      'Contact: <sip:callee@192.0.2.60:5062>',
      ...extra,
    ]);

  it('reverses Record-Route, takes the Contact as remote target and keeps the INVITE CSeq', () => {
    const d = Dialog.forUac(invite, response(180, 'uas-1'), { localContact: CONTACT, flow: { transport: 'udp', remoteAddress: '192.0.2.60' } });
    expect(d.state).toBe('early');
    expect(d.id).toEqual({ callId: 'out-1@192.0.2.10', localTag: 'uac-tag', remoteTag: 'uas-1' });
    expect(d.routeSet.map(String)).toEqual(['<sip:192.0.2.2;lr>', '<sip:192.0.2.1;lr>']);
    expect(d.localSeq).toBe(5);
    expect(d.remoteTarget.toString()).toBe('sip:callee@192.0.2.60:5062');
  });

  it('recomputes the route set from the 2xx when an early dialog is confirmed (§13.2.2.4)', () => {
    const d = Dialog.forUac(invite, response(180, 'uas-1'), { localContact: CONTACT, flow: { transport: 'udp', remoteAddress: '192.0.2.60' } });
    const ok = msg([
      'SIP/2.0 200 OK',
      'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKours',
      'Record-Route: <sip:192.0.2.9;lr>',
      'From: <sip:callroom@192.0.2.10>;tag=uac-tag',
      'To: <sip:callee@192.0.2.60>;tag=uas-1',
      'Call-ID: out-1@192.0.2.10',
      'CSeq: 5 INVITE',
      'Contact: <sip:callee@192.0.2.61:5064>',
    ]);
    d.confirmWith(ok);
    expect(d.state).toBe('confirmed');
    expect(d.routeSet.map(String)).toEqual(['<sip:192.0.2.9;lr>']);
    expect(d.remoteTarget.toString()).toBe('sip:callee@192.0.2.61:5064');
  });

  it('builds the ACK for a 2xx with the INVITE CSeq number and the route set (§13.2.2.4)', () => {
    const d = Dialog.forUac(invite, response(200, 'uas-1'), { localContact: CONTACT, flow: { transport: 'udp', remoteAddress: '192.0.2.60' } });
    expect(d.state).toBe('confirmed');
    const ack = d.createAck(5);
    expect(ack.method).toBe('ACK');
    expect(ack.cseq).toEqual({ seq: 5, method: 'ACK' });
    expect(ack.requestUri).toBe('sip:callee@192.0.2.60:5062');
    expect(ack.getAll('route')).toEqual(['<sip:192.0.2.2;lr>', '<sip:192.0.2.1;lr>']);
    expect(ack.to?.tag).toBe('uas-1');
    expect(ack.has('via')).toBe(false);
    // The ACK takes no new sequence number.
    expect(d.createRequest('BYE').cseq?.seq).toBe(6);
  });

  it('strict-routes through an RFC 2543 proxy (§12.2.1.1)', () => {
    const strict = msg([
      'SIP/2.0 200 OK',
      'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKours',
      'Record-Route: <sip:192.0.2.1;lr>',
      'Record-Route: <sip:192.0.2.3;maddr=192.0.2.33>',
      'From: <sip:callroom@192.0.2.10>;tag=uac-tag',
      'To: <sip:callee@192.0.2.60>;tag=uas-2',
      'Call-ID: out-1@192.0.2.10',
      'CSeq: 5 INVITE',
      'Contact: <sip:callee@192.0.2.60:5062>',
    ]);
    const d = Dialog.forUac(invite, strict, { localContact: CONTACT, flow: { transport: 'udp', remoteAddress: '192.0.2.60' } });
    const bye = d.createRequest('BYE');
    // The strict router becomes the Request-URI; the rest of the route set, then the remote target, go in Route.
    expect(bye.requestUri).toBe('sip:192.0.2.3;maddr=192.0.2.33');
    expect(bye.getAll('route')).toEqual(['<sip:192.0.2.1;lr>', '<sip:callee@192.0.2.60:5062>']);
    const route = d.destinationFor(bye);
    expect(route.ok && route.destination).toEqual({ transport: 'udp', address: '192.0.2.33', port: 5060 });
  });

  it('reuses the dialog TCP connection for requests going straight back to the peer', () => {
    const d = Dialog.forUac(invite, msg([
      'SIP/2.0 200 OK',
      'Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bKours',
      'From: <sip:callroom@192.0.2.10>;tag=uac-tag',
      'To: <sip:callee@192.0.2.60>;tag=uas-3',
      'Call-ID: out-1@192.0.2.10',
      'CSeq: 5 INVITE',
      'Contact: <sip:callee@192.0.2.60:5062>',
    ]), { localContact: CONTACT, flow: { transport: 'tcp', remoteAddress: '192.0.2.60', connectionId: 12 } });
    const route = d.destinationFor(d.createRequest('BYE'));
    // No transport parameter in the Contact: the dialog's transport (TCP) and connection.
    expect(route.ok && route.destination).toEqual({ transport: 'tcp', address: '192.0.2.60', port: 5062, connectionId: 12 });
  });
});

describe('dialog ids', () => {
  it('match a request to the UAS side and a response to the UAC side', () => {
    const request = msg(['BYE sip:a@192.0.2.1 SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKb', 'From: <sip:b@x>;tag=remote', 'To: <sip:a@y>;tag=local', 'Call-ID: c1', 'CSeq: 2 BYE']);
    expect(requestDialogId(request)).toEqual({ callId: 'c1', localTag: 'local', remoteTag: 'remote' });
    const response = msg(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKb', 'From: <sip:a@y>;tag=local', 'To: <sip:b@x>;tag=remote', 'Call-ID: c1', 'CSeq: 2 BYE']);
    expect(dialogKey(responseDialogId(response)!)).toBe(dialogKey(requestDialogId(request)!));
    // Outside a dialog (no To tag) there is no id; a From without tag is the null tag.
    expect(requestDialogId(msg(['OPTIONS sip:a@192.0.2.1 SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKo', 'From: <sip:b@x>', 'To: <sip:a@y>', 'Call-ID: c2', 'CSeq: 1 OPTIONS']))).toBeUndefined();
  });

  it('a peer without From tag (RFC 2543) gets the empty remote tag and no tag in our To', () => {
    const invite = msg(['INVITE sip:a@192.0.2.1 SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.2', 'From: <sip:b@192.0.2.2>', 'To: <sip:a@192.0.2.1>', 'Call-ID: old', 'CSeq: 56 INVITE', 'Contact: <sip:b@192.0.2.2>']);
    const d = Dialog.forUas(invite, { localTag: 'x', localContact: CONTACT, flow: UDP, state: 'confirmed' });
    expect(d.remoteTag).toBe('');
    const bye = d.createRequest('BYE');
    expect(bye.to?.tag).toBeUndefined();
  });
});
