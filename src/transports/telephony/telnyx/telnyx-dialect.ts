import { streamDialect } from '../stream-session.ts';
import { telnyxCodec } from './telnyx-codec.ts';

/** Telnyx as a bridge dialect. */
export const telnyxDialect = streamDialect(telnyxCodec);
