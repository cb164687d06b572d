import { streamDialect } from '../stream-session.ts';
import { plivoCodec } from './plivo-codec.ts';

/** Plivo as a bridge dialect. */
export const plivoDialect = streamDialect(plivoCodec);
