/**
 * The SIPp scenario files under test/sip-scenarios and the `-key` values each one needs (SIPp 3.6.1
 * refuses to start when a scenario uses a `[key]` that was not given).
 *
 * `uac-*`: SIPp calls the gateway. `uas-*`: SIPp is the trunk or registrar the gateway talks to.
 * `mock-gateway/gw-*`: SIPp plays the gateway's part, so every scenario above can be validated before
 * the user agent exists (see test/integration/sip-peers/scenarios.test.ts).
 */
import { fileURLToPath } from 'node:url';

/** Directory holding the scenario XML files. */
export const SCENARIO_DIR = fileURLToPath(new URL('../../sip-scenarios/', import.meta.url));

/** Each scenario and the keys it requires. */
export const SCENARIO_KEYS = {
  'uac-basic-pcmu': ['pcap_audio', 'pcap_dtmf', 'audio_ms', 'dtmf_ms'],
  'uac-bye-from-gateway': [],
  'uac-cancel': [],
  'uac-hold-resume': [],
  'uac-options': [],
  'uac-refer-from-gateway': [],
  'uac-refer-to-gateway': ['refer_to'],
  'uac-load': [],
  'uac-reinvite-new-source': ['pcap_a', 'pcap_b', 'a_ms', 'b_ms'],
  'uas-auth': ['user', 'pass'],
  'uas-registrar': ['user', 'pass', 'expires'],
  'mock-gateway/gw-answer': ['rtp_port'],
  'mock-gateway/gw-bye': ['hold_ms'],
  'mock-gateway/gw-cancel': [],
  'mock-gateway/gw-hold': [],
  'mock-gateway/gw-options': [],
  'mock-gateway/gw-refer-out': ['refer_to'],
  'mock-gateway/gw-refer-in': [],
  'mock-gateway/gw-dial-auth': [],
  'mock-gateway/gw-register': ['refresh_ms'],
  'mock-gateway/gw-register-rechallenge': ['refresh_ms'],
} as const satisfies Record<string, readonly string[]>;

/** Name of a scenario file, without `.xml`. */
export type ScenarioName = keyof typeof SCENARIO_KEYS;

/** Absolute path of a scenario file. */
export function scenarioPath(name: ScenarioName): string {
  return `${SCENARIO_DIR}${name}.xml`;
}

/** `{ file }` for `SippOptions.scenario`. */
export function scenarioFile(name: ScenarioName): { readonly file: string } {
  return { file: scenarioPath(name) };
}

/** Keywords SIPp 3.6.1 fills in itself; any other `[word]` in a scenario is a `-key`. */
const SIPP_KEYWORDS = new Set([
  'service',
  'remote_ip',
  'remote_port',
  'transport',
  'local_ip',
  'local_ip_type',
  'local_port',
  'media_ip',
  'media_ip_type',
  'media_port',
  'auto_media_port',
  'branch',
  'pid',
  'call_number',
  'call_id',
  'cseq',
  'len',
  'next_url',
  'routes',
  'peer_tag_param',
  'authentication',
  'server_ip',
  'clock_tick',
  'timestamp',
  'users',
  'userid',
  'rtpstream_audio_port',
]);

/** The `-key` names a scenario text uses (for checking {@link SCENARIO_KEYS} against the files). */
export function keysUsedBy(xml: string): string[] {
  const found = new Set<string>();
  // Comments and regular expressions have brackets that are not keywords.
  const text = xml.replace(/<!--[\s\S]*?-->/g, '').replace(/regexp="[^"]*"/g, '');
  for (const m of text.matchAll(/\[([A-Za-z_][A-Za-z0-9_-]*)\]/g)) {
    const word = m[1] as string;
    if (SIPP_KEYWORDS.has(word) || word.startsWith('last_') || /^branch-\d+$/.test(word)) continue;
    found.add(word);
  }
  return [...found].sort();
}
