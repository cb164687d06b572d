import { describe, expect, it } from 'vitest';
import { AbsoluteUri, SipUri, TelUri, parseUri, uriEquals, type Uri } from '../../../../src/sip/message/index.ts';

function uri(s: string): Uri {
  const p = parseUri(s);
  if (!p.ok) throw new Error(`${s}: ${p.reason}`);
  return p.value;
}

function sipUri(s: string): SipUri {
  const u = uri(s);
  expect(u).toBeInstanceOf(SipUri);
  return u as SipUri;
}

describe('SIP URIs (RFC 3261 §19.1)', () => {
  it('parses every component', () => {
    const u = sipUri('sips:alice:secret@atlanta.com:5061;transport=TCP;lr;maddr=239.255.255.1;user=phone;method=INVITE?subject=project%20x&priority=urgent');
    expect([u.scheme, u.user, u.password, u.host, u.port]).toEqual(['sips', 'alice', 'secret', 'atlanta.com', 5061]);
    expect([u.transport, u.lr, u.maddr, u.userParam, u.method]).toEqual(['tcp', true, '239.255.255.1', 'phone', 'INVITE']);
    expect([...u.headers]).toEqual([['subject', 'project x'], ['priority', 'urgent']]);
    expect(u.toString()).toBe('sips:alice:secret@atlanta.com:5061;transport=TCP;lr;maddr=239.255.255.1;user=phone;method=INVITE?subject=project%20x&priority=urgent');
  });

  it('parses host-only URIs, IPv4 and IPv6 references', () => {
    expect(sipUri('sip:example.com').user).toBeUndefined();
    const v6 = sipUri('sip:[2001:db8::10]:5070;transport=udp');
    expect([v6.host, v6.port, v6.hostPort]).toEqual(['2001:db8::10', 5070, '[2001:db8::10]:5070']);
    expect(sipUri('sip:bob@[::1]').host).toBe('::1');
    expect(sipUri('sip:+1-212-555-1212:1234@gateway.com;user=phone').password).toBe('1234');
    expect(sipUri('SIP:Bob@Example.COM').scheme).toBe('sip');
  });

  it('decodes escapes (one char per octet) and escapes again on output', () => {
    const u = sipUri('sip:%61lice%20x%C3%A9@example.com;na%6De=v%25');
    expect(u.user).toBe('alice x\u00c3\u00a9');
    expect([...u.params]).toEqual([['name', 'v%']]);
    expect(u.toString()).toBe('sip:alice%20x%C3%A9@example.com;name=v%25');
    u.user = 'sips:user@example.com';
    expect(u.toString()).toBe('sip:sips%3Auser%40example.com@example.com;name=v%25');
  });

  it.each([
    'sip:', 'sip:@example.com', 'sip:user@', 'sip:user@exa mple.com', 'sip:user@example.com:99999', 'sip:user@example.com:5x',
    'sip:us%G0er@example.com', 'sip:user@example.com;', 'sip:user@example.com;=x', 'sip:user@example.com;a=', 'sip:user@[::1',
    'sip:user@[zz::1]', 'sip:user@a..b', 'sip:user@example.com?x', 'sip:user@example.com>', '<sip:user@example.com>', 'sip:u"ser@example.com',
    '1sip:a@b', ':a@b', 'sip:user@256.1.1.1',
  ])('rejects %s', (s) => {
    expect(parseUri(s).ok).toBe(false);
  });
});

describe('tel and other URIs', () => {
  it('parses tel: numbers and parameters (RFC 3966)', () => {
    const t = uri('tel:+1-201-555-0123;ext=1234') as TelUri;
    expect(t).toBeInstanceOf(TelUri);
    expect([t.number, t.digits, t.isGlobal, t.params.get('ext')]).toEqual(['+1-201-555-0123', '+12015550123', true, '1234']);
    const local = uri('tel:7042;phone-context=example.com') as TelUri;
    expect([local.isGlobal, local.params.get('phone-context')]).toEqual([false, 'example.com']);
    expect(local.toString()).toBe('tel:7042;phone-context=example.com');
    expect(parseUri('tel:abc-xyz').ok).toBe(false);
    expect(parseUri('tel:+1 555').ok).toBe(false);
  });

  it('keeps other schemes opaque and refuses white space', () => {
    const u = uri('urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6') as AbsoluteUri;
    expect([u.scheme, u.opaque]).toEqual(['urn', 'uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6']);
    expect(parseUri('http://a b').ok).toBe(false);
    expect(parseUri('mailto:').ok).toBe(false);
  });
});

describe('uriEquals (RFC 3261 §19.1.4 examples)', () => {
  it.each([
    ['sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;security=on'],
    ['sip:carol@chicago.com;newparam=5', 'sip:carol@chicago.com;security=on'],
    ['sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com', 'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com'],
    ['sip:alice@atlanta.com?subject=project%20x&priority=urgent', 'sip:alice@atlanta.com?priority=urgent&subject=project%20x'],
    ['tel:+1-201-555-0123', 'tel:+1.201.555.0123'],
  ])('%s equals %s', (a, b) => {
    expect(uriEquals(uri(a), uri(b))).toBe(true);
    expect(uriEquals(uri(b), uri(a))).toBe(true);
  });

  it.each([
    ['SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting'],
    ['sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4'],
    ['sip:bob@example.com', 'sips:bob@example.com'],
    ['sip:bob@example.com', 'tel:+1555'],
  ])('%s differs from %s', (a, b) => {
    expect(uriEquals(uri(a), uri(b))).toBe(false);
    expect(uriEquals(uri(b), uri(a))).toBe(false);
  });
});
