/**
 * Picks the RTP socket I/O from config `rtp.io` (see udp-io.ts): the batched native addon when asked for or, for
 * `auto`, when it is built; node:dgram otherwise.
 */

import { CallroomError } from '../../core/errors.ts';
import { DgramRtpIo } from './dgram-udp-io.ts';
import { NativeRtpIo } from './native-udp-io.ts';
import type { RtpIo, RtpIoKind } from './udp-io.ts';

export interface ChosenRtpIo {
  readonly io: RtpIo;
  readonly kind: RtpIoKind;
  /** Why `auto` fell back to node:dgram. */
  readonly reason?: string;
  close(): void;
}

/** Throws CallroomError CR_RTP_IO_UNAVAILABLE for `native` when the addon is not built. */
export function openRtpIo(mode: 'auto' | 'native' | 'dgram'): ChosenRtpIo {
  if (mode !== 'dgram') {
    const { io, reason } = NativeRtpIo.create();
    if (io !== null) return { io, kind: 'native', close: () => io.close() };
    if (mode === 'native') throw new CallroomError('CR_RTP_IO_UNAVAILABLE', `rtp.io is native but ${reason}`);
    const dgram = new DgramRtpIo();
    return { io: dgram, kind: 'dgram', reason, close: () => {} };
  }
  const dgram = new DgramRtpIo();
  return { io: dgram, kind: 'dgram', close: () => {} };
}
