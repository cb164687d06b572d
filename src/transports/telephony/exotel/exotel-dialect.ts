import { streamDialect } from '../stream-session.ts';
import { exotelCodec } from './exotel-codec.ts';

/** Exotel as a bridge dialect. */
export const exotelDialect = streamDialect(exotelCodec);
