/**
 * Wait until a peer has bound its port, by reading the kernel's socket tables (/proc/net/udp, tcp and
 * their IPv6 twins) of the current network namespace. Probing with a SIP request instead would itself
 * be traffic the peer's scenario does not expect (a SIPp UAS counts an OPTIONS as a failed call).
 */
import { readFile } from 'node:fs/promises';

/** `udp`: any socket bound to the port; `tcp`: a socket listening on it. */
export type PortProtocol = 'udp' | 'tcp';

const TCP_LISTEN = '0A';

async function tableHasPort(file: string, port: number, listenOnly: boolean): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return false; // no IPv6 table in this kernel or namespace
  }
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    const local = cols[1];
    if (local === undefined || !local.endsWith(`:${hex}`)) continue;
    if (!listenOnly || cols[3] === TCP_LISTEN) return true;
  }
  return false;
}

/** True when some socket in this namespace is bound to `port` (UDP) or listens on it (TCP). */
export async function portInUse(port: number, protocol: PortProtocol): Promise<boolean> {
  const listenOnly = protocol === 'tcp';
  return (
    (await tableHasPort(`/proc/net/${protocol}`, port, listenOnly)) ||
    (await tableHasPort(`/proc/net/${protocol}6`, port, listenOnly))
  );
}

/**
 * Resolve once `port` is bound; poll every 20 ms.
 * @param isAlive checked on every poll so a peer that died fails fast instead of timing out.
 * @throws Error after `timeoutMs`, or when `isAlive` returns false.
 */
export async function waitForPort(
  port: number,
  protocol: PortProtocol,
  timeoutMs = 10_000,
  isAlive: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await portInUse(port, protocol)) return;
    if (!isAlive()) throw new Error(`process exited before binding ${protocol} port ${port}`);
    if (Date.now() > deadline) throw new Error(`${protocol} port ${port} not bound within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
