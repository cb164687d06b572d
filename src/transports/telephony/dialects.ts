import { chanWebsocketDialect } from './chan-websocket/chan-websocket-dialect.ts';
import type { TelephonyDialect, WsDialect } from './dialect.ts';
import { exotelDialect } from './exotel/exotel-dialect.ts';
import { genesysDialect } from './genesys/genesys-dialect.ts';
import { jambonzDialect } from './jambonz/jambonz-dialect.ts';
import { plivoDialect } from './plivo/plivo-dialect.ts';
import { telnyxDialect } from './telnyx/telnyx-dialect.ts';
import { twilioDialect } from './twilio/twilio-dialect.ts';
import { vonageDialect } from './vonage/vonage-dialect.ts';

/** Every WebSocket dialect the bridges speak, by name. */
export const WS_DIALECTS: ReadonlyMap<TelephonyDialect, WsDialect> = new Map<TelephonyDialect, WsDialect>(
  [twilioDialect, telnyxDialect, vonageDialect, jambonzDialect, chanWebsocketDialect, plivoDialect, exotelDialect, genesysDialect].map((d) => [d.name, d]),
);
