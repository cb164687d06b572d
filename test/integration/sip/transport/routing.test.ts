import { describe, expect, it } from 'vitest';
import { createResponse } from '../../../../src/sip/message/create-response.ts';
import { routeRequest } from '../../../../src/sip/transport/route-request.ts';
import { routeResponse } from '../../../../src/sip/transport/route-response.ts';
import { stampVia } from '../../../../src/sip/transport/stamp-via.ts';
import type { MessageSource, SocketAddress } from '../../../../src/sip/transport/transport.ts';
import { parse, requestText } from './support.ts';

/** The pure routing rules behind the socket tests: §18.2.1 stamping, §18.2.2 responses, §8.1.2 requests. */

const v4: SocketAddress = { address: '10.1.1.1', port: 40000, family: 'IPv4' };
const local: SocketAddress = { address: '127.0.0.1', port: 5060, family: 'IPv4' };

function udpSource(remote: SocketAddress = v4): MessageSource {
  return { transport: 'udp', remote, local };
}

function responseVia(via: string, remote: SocketAddress = v4, transport: 'udp' | 'tcp' = 'udp', connectionId?: number) {
  const req = parse(requestText({ via }));
  stampVia(req, remote);
  const source: MessageSource = { transport, remote, local, ...(connectionId === undefined ? {} : { connectionId }) };
  return { req, route: routeResponse(createResponse(req, 200), source) };
}

function dest(r: ReturnType<typeof routeResponse>): string {
  return r.ok ? `${r.destination.transport} ${r.destination.address} ${r.destination.port}${r.destination.connectionId === undefined ? '' : ` #${r.destination.connectionId}`}` : r.error.code;
}

describe('stampVia (RFC 3261 §18.2.1, RFC 3581 §4)', () => {
  it('adds received only when the source differs from sent-by', () => {
    expect(responseVia('SIP/2.0/UDP 10.1.1.1:5070;branch=z9hG4bK1').req.topVia?.received).toBeUndefined();
    expect(responseVia('SIP/2.0/UDP 10.9.9.9:5070;branch=z9hG4bK1').req.topVia?.received).toBe('10.1.1.1');
    expect(responseVia('SIP/2.0/UDP pbx.example.com;branch=z9hG4bK1').req.topVia?.received).toBe('10.1.1.1');
  });

  it('fills rport and then always adds received', () => {
    const via = responseVia('SIP/2.0/UDP 10.1.1.1:5070;branch=z9hG4bK1;rport').req.topVia;
    expect(via?.rport).toBe(40000);
    expect(via?.received).toBe('10.1.1.1');
  });

  it('compares IPv6 spellings and writes received without brackets', () => {
    const six: SocketAddress = { address: '2001:db8::1', port: 5062, family: 'IPv6' };
    expect(responseVia('SIP/2.0/UDP [2001:DB8:0::1]:5060;branch=z9hG4bK1', six).req.topVia?.received).toBeUndefined();
    const req = responseVia('SIP/2.0/UDP [2001:db8::2]:5060;branch=z9hG4bK1', six).req;
    expect(req.topVia?.received).toBe('2001:db8::1');
    expect(req.get('via')).toContain(';received=2001:db8::1');
  });

  it('overwrites a received the sender wrote itself', () => {
    expect(responseVia('SIP/2.0/UDP 10.1.1.1:5070;branch=z9hG4bK1;received=192.0.2.7').req.topVia?.received).toBe('10.1.1.1');
  });

  it('keeps the other Via values of a comma-joined line', () => {
    const { req } = responseVia('SIP/2.0/UDP h.example;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK2');
    expect(req.vias.map((v) => v.branch)).toEqual(['z9hG4bK1', 'z9hG4bK2']);
    expect(req.vias[1]?.received).toBeUndefined();
  });
});

describe('routeResponse (RFC 3261 §18.2.2)', () => {
  it('unreliable: received + rport, else received + sent-by port, else sent-by', () => {
    expect(dest(responseVia('SIP/2.0/UDP h.example:5070;branch=z9hG4bK1;rport').route)).toBe('udp 10.1.1.1 40000');
    expect(dest(responseVia('SIP/2.0/UDP h.example:5070;branch=z9hG4bK1').route)).toBe('udp 10.1.1.1 5070');
    expect(dest(responseVia('SIP/2.0/UDP h.example;branch=z9hG4bK1').route)).toBe('udp 10.1.1.1 5060');
    expect(dest(responseVia('SIP/2.0/UDP 10.1.1.1:5080;branch=z9hG4bK1').route)).toBe('udp 10.1.1.1 5080');
  });

  it('unreliable: maddr when it is an IP literal, ignored when it is a name', () => {
    expect(dest(responseVia('SIP/2.0/UDP h.example:5070;branch=z9hG4bK1;maddr=239.1.1.1').route)).toBe('udp 239.1.1.1 5070');
    expect(dest(responseVia('SIP/2.0/UDP h.example:5070;branch=z9hG4bK1;maddr=m.example').route)).toBe('udp 10.1.1.1 5070');
  });

  it('reliable: the request connection first, with received/rport or sent-by port as the fallback', () => {
    expect(dest(responseVia('SIP/2.0/TCP h.example:5070;branch=z9hG4bK1', v4, 'tcp', 4).route)).toBe('tcp 10.1.1.1 5070 #4');
    expect(dest(responseVia('SIP/2.0/TCP h.example:5070;branch=z9hG4bK1;rport', v4, 'tcp', 4).route)).toBe('tcp 10.1.1.1 40000 #4');
  });

  it('needs no DNS for any answer built from a stamped request, and refuses one that would', () => {
    const req = parse(requestText({ via: 'SIP/2.0/UDP h.example;branch=z9hG4bK1' }));
    expect(dest(routeResponse(createResponse(req, 200), udpSource()))).toBe('CR_SIP_TRANSPORT_NEEDS_DNS');
    const tls = parse(requestText({ via: 'SIP/2.0/TLS 10.1.1.1;branch=z9hG4bK1' }));
    expect(dest(routeResponse(createResponse(tls, 200)))).toBe('CR_SIP_TRANSPORT_UNSUPPORTED');
  });
});

describe('routeRequest (RFC 3261 §8.1.2, IP literals only)', () => {
  const req = (uri: string, extra: readonly string[] = []) => parse(requestText({ uri, via: 'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1', extra }));

  it('sends to the Request-URI host, port and transport parameter', () => {
    expect(dest(routeRequest(req('sip:bob@10.2.2.2')))).toBe('udp 10.2.2.2 5060');
    expect(dest(routeRequest(req('sip:bob@10.2.2.2:5080;transport=TCP')))).toBe('tcp 10.2.2.2 5080');
    expect(dest(routeRequest(req('sip:bob@[2001:db8::5]:5070')))).toBe('udp 2001:db8::5 5070');
    expect(dest(routeRequest(req('sip:bob@trunk.example;maddr=10.3.3.3')))).toBe('udp 10.3.3.3 5060');
    expect(dest(routeRequest(req('sip:bob@10.2.2.2'), 'tcp'))).toBe('tcp 10.2.2.2 5060');
  });

  it('follows a loose-routing first Route, else the Request-URI', () => {
    expect(dest(routeRequest(req('sip:bob@10.2.2.2', ['Route: <sip:10.9.9.9:5090;lr>'])))).toBe('udp 10.9.9.9 5090');
    expect(dest(routeRequest(req('sip:10.8.8.8;transport=tcp', ['Route: <sip:bob@10.2.2.2>'])))).toBe('tcp 10.8.8.8 5060');
  });

  it('refuses host names, sips and non-SIP URIs instead of resolving them', () => {
    expect(dest(routeRequest(req('sip:bob@trunk.example')))).toBe('CR_SIP_TRANSPORT_NEEDS_DNS');
    expect(dest(routeRequest(req('sips:bob@10.2.2.2')))).toBe('CR_SIP_TRANSPORT_UNSUPPORTED');
    expect(dest(routeRequest(req('tel:+15551234567')))).toBe('CR_SIP_TRANSPORT_UNSUPPORTED');
    expect(dest(routeRequest(req('sip:bob@10.2.2.2;transport=sctp')))).toBe('CR_SIP_TRANSPORT_UNSUPPORTED');
  });
});
