import type { Logger } from '../../core/logger.ts';
import type { SipCallLeg } from './sip-call-leg.ts';

/**
 * Echo mode (`sip.echo`): answer and play every received frame straight back, so a peer can check media
 * (codecs, jitter buffer, pacing) end to end without an agent. DTMF from RFC 4733 and INFO is logged.
 */
export async function runEchoCall(leg: SipCallLeg, logger: Logger): Promise<void> {
  leg.onFrame((frame) => {
    leg.sendFrame(frame);
  });
  leg.onDtmf((d) => logger.info({ digits: d.digit, durationMs: d.durationMs, source: d.source }, 'dtmf'));
  await leg.answer();
  logger.info({ codec: leg.audio.codecName, sampleRate: leg.sampleRate }, 'echo call answered');
  const end = await leg.ended;
  const stats = leg.audio.stats();
  logger.info(
    { reason: end.reason, status: end.status, sent: stats.sent.packets, received: stats.received.packets, lost: stats.received.lost },
    'echo call ended',
  );
}
