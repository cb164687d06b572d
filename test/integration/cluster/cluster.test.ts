/**
 * Three Callroom nodes behind Kamailio on one PostgreSQL, the deployment of docs/deploy.md, run on loopback
 * addresses inside fresh network and PID namespaces (cluster-netns-main.ts does the run and reports; this
 * file asserts). The PID namespace ends with its first process, so PostgreSQL, Kamailio, the nodes and SIPp
 * cannot outlive the test whatever happens.
 *
 * What it proves:
 * - calls placed at the proxy are spread over the three nodes, each record naming its node;
 * - node 1's REST API lists the live calls of all nodes, and hangs up one that node 3 holds (LISTEN/NOTIFY);
 * - node 1 hands out a control URL pointing at node 3 for a node-3 call; a socket opened on node 1 instead
 *   is relayed to node 3 (events arrive, its hang_up ends the call);
 * - node 2, stopped with SIGTERM mid-run, drains: its calls go on until their callers hang up, new calls
 *   are refused (503) and Kamailio gives them to nodes 1 and 3; then it exits 0 and marks itself down;
 * - SIPp counts every one of the 30 calls a success, and the database holds exactly those 30 records,
 *   all ended, with answer times, end reasons and what the agent said, appended by the node holding it.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { liveProcesses, startProcess, stopAllProcesses } from '../../support/sip-peers/managed-process.ts';
import type { ClusterReport } from './cluster-netns-main.ts';

const MAIN = fileURLToPath(new URL('./cluster-netns-main.ts', import.meta.url));
const CALLS = 15;

afterEach(async () => {
  await stopAllProcesses();
  expect(liveProcesses()).toHaveLength(0);
});

/** `unshare` into new network, PID and mount namespaces (fresh /proc), loopback up, then run `args`. */
function namespaced(args: readonly string[]): { command: string; args: string[] } {
  const user = typeof process.getuid === 'function' && process.getuid() !== 0 ? ['-r'] : [];
  return {
    command: 'unshare',
    args: [...user, '-n', '-p', '-f', '--kill-child', '-m', '--mount-proc', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'callroom-cluster', ...args],
  };
}

describe('three nodes behind Kamailio on one PostgreSQL', () => {
  it('spreads calls, answers the API for any call, routes commands to the holder, survives a SIGTERM with nothing lost', { timeout: 240_000 }, async () => {
    const proc = await startProcess({ ...namespaced([process.execPath, MAIN, String(CALLS)]), name: 'cluster run', timeoutMs: 200_000, maxOutputChars: 4_000_000 });
    const exit = await proc.exited;
    const line = exit.stdout.split('\n').find((l) => l.startsWith('CLUSTER_REPORT '));
    expect(line, `no report\n${exit.stderr.slice(-6000)}`).toBeDefined();
    const r = JSON.parse((line as string).slice('CLUSTER_REPORT '.length)) as ClusterReport;
    const context = `${r.error ?? ''}\n${exit.stderr.slice(-4000)}`;
    expect(r.ok, context).toBe(true);
    expect(exit.exitCode).toBe(0);

    // SIPp: every call of both waves succeeded (a BYE from a node, or the caller's own, both count).
    const [first, second] = r.waves;
    expect(first?.passed, first?.description).toBe(true);
    expect(second?.passed, second?.description).toBe(true);
    expect(first?.callIds).toHaveLength(CALLS);
    expect(second?.callIds).toHaveLength(CALLS);
    const firstIds = new Set(first?.callIds);
    const secondIds = new Set(second?.callIds);

    // Node 1 listed every live call of the first wave, held by all three nodes.
    expect(new Set(r.activeListed.map((c) => c.id))).toEqual(firstIds);
    const perNode = (ids: ReadonlySet<string>, node: string) => r.records.filter((c) => ids.has(c.id) && c.nodeId === node).length;
    for (const node of ['node-1', 'node-2', 'node-3']) expect(r.activeListed.filter((c) => c.nodeId === node).length, node).toBeGreaterThanOrEqual(3);

    // Node 1 hung up a call of node 3.
    expect(r.hungUp).toMatchObject({ nodeId: 'node-3', status: 204 });
    const record = (id: string | undefined) => r.records.find((c) => c.id === id);
    expect(record(r.hungUp?.callId)).toMatchObject({ state: 'ended', endReason: 'api-hangup', nodeId: 'node-3' });

    // The control URL node 1 gave out points at node 3; the socket opened on node 1 was relayed there.
    expect(r.control?.controlUrl).toMatch(/^ws:\/\/127\.0\.0\.4:8080\/ws\/control\?/);
    expect(r.control?.messages).toEqual(expect.arrayContaining(['call_started', 'state', 'call_ended']));
    expect(r.control?.hangupEnded).toBe(true);
    expect(record(r.control?.callId)).toMatchObject({ endReason: 'api-hangup', nodeId: 'node-3' });
    expect(r.relayedHangupLogs).toBe(2);

    // Node 2 went away cleanly and said so in the registry; later calls went to the others.
    expect(r.node2Exit).toMatchObject({ exitCode: 0, signal: null });
    // It left after its last call had ended (the drain let them finish).
    const node2Calls = r.records.filter((c) => c.nodeId === 'node-2');
    expect(node2Calls.length).toBeGreaterThanOrEqual(3);
    for (const c of node2Calls) expect(Date.parse(c.endedAt as string), c.id).toBeLessThanOrEqual(r.node2Exit?.at ?? 0);
    expect(r.nodes.find((n) => n.id === 'node-2')).toMatchObject({ state: 'down', public_url: 'http://127.0.0.3:8080' });
    expect(perNode(secondIds, 'node-2')).toBe(0);
    expect(perNode(secondIds, 'node-1')).toBeGreaterThanOrEqual(3);
    expect(perNode(secondIds, 'node-3')).toBeGreaterThanOrEqual(3);
    expect(r.stops).toEqual([
      { node: 'node-1', clean: true },
      { node: 'node-3', clean: true },
    ]);

    // Nothing lost: exactly SIPp's 30 calls, each ended, answered, on a node, with the agent's words recorded.
    expect(new Set(r.records.map((c) => c.id))).toEqual(new Set([...firstIds, ...secondIds]));
    expect(r.records).toHaveLength(2 * CALLS);
    for (const c of r.records) {
      expect(c.state, c.id).toBe('ended');
      expect(c.answeredAt, c.id).not.toBeNull();
      expect(['node-1', 'node-2', 'node-3']).toContain(c.nodeId);
      // Node 2's calls too: the drain let them run until the caller hung up.
      const expected = c.id === r.hungUp?.callId || c.id === r.control?.callId ? ['api-hangup'] : ['caller-hangup'];
      expect(expected, `${c.id} ended ${c.endReason}`).toContain(c.endReason);
      // What the agent said was appended by the node holding the call (the greeting, or its notice first).
      if (c.endReason === 'caller-hangup') expect(r.transcripts[c.id]?.some((t) => t.startsWith('assistant: ')), `${c.id}: ${JSON.stringify(r.transcripts[c.id])}`).toBe(true);
    }
    expect(perNode(firstIds, 'node-2') + perNode(secondIds, 'node-2')).toBe(r.activeListed.filter((c) => c.nodeId === 'node-2').length);
  });
});
