import type { Logger } from '../../core/logger.ts';
import type { SipCall } from '../../sip/user-agent/index.ts';
import type { RtpAudioLeg } from './rtp-audio-leg.ts';

/**
 * Echo mode (`sip.echo`): answer and play every received frame straight back, so a peer can check media
 * (codecs, jitter buffer, pacing) end to end without an agent. DTMF is logged.
 */
export async function runEchoCall(call: SipCall, leg: RtpAudioLeg, logger: Logger): Promise<void> {
  leg.setSinks({
    onAudio: (frame) => {
      leg.sendFrame(frame);
    },
    onDtmf: (ev) => {
      if (ev.type === 'digit-end') logger.info({ digits: ev.digit, durationMs: ev.durationMs, source: 'rfc4733' }, 'dtmf');
    },
  });
  call.onDtmf((ev) => logger.info({ digits: ev.digit, source: ev.source }, 'dtmf'));
  await call.answer();
  const end = await call.ended;
  const stats = leg.stats();
  logger.info({ reason: end.reason, status: end.status, sent: stats.sent.packets, received: stats.received.packets, lost: stats.received.lost }, 'echo call ended');
}
