import { streamDialect } from '../stream-session.ts';
import { twilioCodec } from './twilio-codec.ts';

/** Twilio Media Streams as a bridge dialect. */
export const twilioDialect = streamDialect(twilioCodec);
