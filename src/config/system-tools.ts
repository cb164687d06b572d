import type { SystemToolName } from './agent-schema.ts';

/**
 * The built-in tools every agent may be given (`agent.tools.system`), as plain data: the one place their
 * descriptions and parameter schemas are written. The REST API lists them (GET /agent-tools/system) and
 * the call layer offers them to the model from this same table, so what users read is what the model sees.
 */

/** A JSON Schema object, as offered to the model. */
export type SystemToolParameters = {
  readonly type: 'object';
  readonly properties: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly required?: readonly string[];
  readonly additionalProperties: false;
};

export interface SystemToolSpec {
  readonly name: SystemToolName;
  readonly description: string;
  readonly parameters: SystemToolParameters;
  /**
   * The call media on which the tool can act: SIP, the Callroom WebSocket, the telephony bridges (Twilio,
   * AudioSocket, ...). Only SIP has somewhere to transfer to; keys go as RFC 4733 or INFO on SIP, as a `dtmf`
   * message on the WebSocket, and as in-band tones on a bridge.
   */
  readonly media: ReadonlyArray<'sip' | 'websocket' | 'telephony'>;
}

export const SYSTEM_TOOLS: Readonly<Record<SystemToolName, SystemToolSpec>> = {
  hangUp: {
    name: 'hangUp',
    description:
      'End the call. Say goodbye first: the call ends once what you are saying has been played. Use it when the caller is done or asks to end the call.',
    parameters: {
      type: 'object',
      properties: {
        reason: { type: 'string', maxLength: 200, description: 'Why the call is ending, in a few words (kept in the call record, not spoken).' },
      },
      additionalProperties: false,
    },
    media: ['sip', 'websocket', 'telephony'],
  },
  transferCall: {
    name: 'transferCall',
    description:
      'Transfer the caller to another number or SIP address (a blind transfer: you leave the call once it succeeds). Tell the caller before transferring.',
    parameters: {
      type: 'object',
      properties: {
        target: {
          type: 'string',
          minLength: 1,
          maxLength: 256,
          description: 'Where to transfer: a SIP URI (sip:desk@example.com) or a phone number in E.164 form (+14155550123).',
        },
        reason: { type: 'string', maxLength: 200, description: 'Why the caller is transferred (kept in the call record, not spoken).' },
      },
      required: ['target'],
      additionalProperties: false,
    },
    media: ['sip'],
  },
  playDtmf: {
    name: 'playDtmf',
    description: 'Press keys on the phone keypad (DTMF tones), for example to navigate another system\'s menu.',
    parameters: {
      type: 'object',
      properties: {
        digits: { type: 'string', pattern: '^[0-9*#A-Da-d]{1,32}$', description: 'The keys to press, in order: 0-9, *, # and A-D.' },
        durationMs: { type: 'integer', minimum: 40, maximum: 2000, default: 160, description: 'How long each key is held, in milliseconds.' },
      },
      required: ['digits'],
      additionalProperties: false,
    },
    media: ['sip', 'websocket', 'telephony'],
  },
};
