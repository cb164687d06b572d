import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RFC4475_DIR } from '../../../support/fixture-paths.ts';

/** RFC 4475 torture messages, kept in the repository (fixtures/sip/rfc4475, with their source named there). */
export const TORTURE_DIR = RFC4475_DIR;

/** RFC 4475 §3.1.1: valid messages. */
export const VALID = ['wsinv', 'intmeth', 'esc01', 'escnull', 'esc02', 'lwsdisp', 'longreq', 'dblreq', 'semiuri', 'transports', 'mpart01', 'unreason', 'noreason'] as const;
/** RFC 4475 §3.1.2: invalid messages. */
export const INVALID = [
  'badinv01', 'clerr', 'ncl', 'scalar02', 'scalarlg', 'quotbal', 'ltgtruri', 'lwsruri', 'lwsstart', 'trws', 'escruri',
  'baddate', 'regbadct', 'badaspec', 'baddn', 'badvers', 'mismatch01', 'mismatch02', 'bigcode',
] as const;
/** RFC 4475 §3.2, §3.3 and §3.4: syntactically fine, semantically interesting. */
export const SEMANTIC = [
  'badbranch', 'insuf', 'unkscm', 'novelsc', 'unksm2', 'bext01', 'invut', 'regaut01', 'multi01', 'mcl01', 'bcast', 'zeromf',
  'cparam01', 'cparam02', 'regescrt', 'sdp01', 'inv2543',
] as const;
export const ALL = [...VALID, ...INVALID, ...SEMANTIC];

export function torture(name: string): Buffer {
  return readFileSync(path.join(TORTURE_DIR, `${name}.dat`));
}
