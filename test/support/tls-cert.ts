/**
 * A throw-away TLS identity for fakes that must speak `wss://` on loopback (the OpenAI Realtime SDK
 * forces wss). Made in memory at test time — nothing is written to disk or committed: a self-signed
 * P-256 certificate for `IP:127.0.0.1`, valid for a day, which the client trusts as its own CA
 * (`{ ca: cert }`), so certificate checking stays on.
 */
import selfsigned from 'selfsigned';

export interface LoopbackCertificate {
  /** PEM private key for the server. */
  readonly key: string;
  /** PEM certificate: the server's, and the CA the client passes as `ca`. */
  readonly cert: string;
}

let pending: Promise<LoopbackCertificate> | undefined;

/** One certificate per process (generation takes tens of milliseconds). */
export function loopbackCertificate(): Promise<LoopbackCertificate> {
  pending ??= (async () => {
    const now = Date.now();
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'callroom-test-127.0.0.1' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notBeforeDate: new Date(now - 60_000),
      notAfterDate: new Date(now + 24 * 3600_000),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
      ],
    });
    return { key: pems.private, cert: pems.cert };
  })();
  return pending;
}
