import type { Logger } from '../core/logger.ts';
import type { CallLeg } from './call-leg.ts';

/**
 * Echo mode (`sip.echo`): answer and play every received frame straight back, so a peer can check media
 * (codecs, jitter buffer, pacing) end to end without an agent. DTMF is logged. Works on any medium.
 */
export async function runEcho(leg: CallLeg, logger: Logger): Promise<void> {
  const offFrame = leg.onFrame((frame) => {
    leg.sendFrame(frame);
  });
  const offDtmf = leg.onDtmf((d) => logger.info({ digits: d.digit, durationMs: d.durationMs, source: d.source }, 'dtmf'));
  try {
    await leg.answer();
    logger.info({ medium: leg.medium, format: leg.inputFormat }, 'echo call answered');
    const end = await leg.ended;
    logger.info({ reason: end.reason, status: end.status, ...leg.mediaStats() }, 'echo call ended');
  } finally {
    offFrame();
    offDtmf();
  }
}
