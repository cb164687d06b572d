import path from 'node:path';

/** The repository root (this file lives in test/support). Every fixture path is resolved inside it. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/** The project's fixtures folder. */
export const FIXTURES_DIR = path.join(REPO_ROOT, 'fixtures');

/** RFC 4475 §3 torture messages, one `.dat` file each (see fixtures/sip/rfc4475/README.md). */
export const RFC4475_DIR = path.join(FIXTURES_DIR, 'sip', 'rfc4475');
