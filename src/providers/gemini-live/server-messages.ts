/**
 * Gemini Live server messages -> what the session acts on, in protocol order. The SDK assigns the
 * server's JSON onto a `LiveServerMessage` unchecked, so every field used is checked here; a message
 * with nothing usable is reported as malformed (logged and skipped), never thrown.
 */

export type LiveAction =
  | { readonly kind: 'setup_complete' }
  | { readonly kind: 'audio'; readonly base64: string; readonly sampleRate: number | undefined }
  | { readonly kind: 'transcript'; readonly role: 'user' | 'assistant'; readonly text: string; readonly finished: boolean }
  | { readonly kind: 'interrupted' }
  | { readonly kind: 'turn_complete' }
  | { readonly kind: 'tool_calls'; readonly calls: ReadonlyArray<{ readonly id: string | undefined; readonly name: string; readonly args: string }> }
  | { readonly kind: 'tool_cancel'; readonly ids: readonly string[] }
  | { readonly kind: 'go_away'; readonly timeLeft: string | undefined }
  | { readonly kind: 'resumption'; readonly handle: string | undefined; readonly resumable: boolean }
  | { readonly kind: 'speech'; readonly started: boolean };

export interface ParsedLiveMessage {
  readonly actions: LiveAction[];
  /** Parts that were present but unusable (each logged once). */
  readonly problems: string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Fields of a server message this adapter knows (usageMetadata etc. are known and unused). */
const KNOWN = new Set([
  'setupComplete',
  'serverContent',
  'toolCall',
  'toolCallCancellation',
  'usageMetadata',
  'goAway',
  'sessionResumptionUpdate',
  'voiceActivityDetectionSignal',
  'voiceActivity',
]);

export function parseLiveMessage(msg: unknown): ParsedLiveMessage {
  const actions: LiveAction[] = [];
  const problems: string[] = [];
  if (!isRecord(msg)) return { actions, problems: ['not an object'] };
  const fields = Object.keys(msg).filter((k) => msg[k] !== undefined);
  if (!fields.some((k) => KNOWN.has(k))) return { actions, problems: [fields.length === 0 ? 'empty message' : 'no known field'] };

  if (msg.setupComplete !== undefined) actions.push({ kind: 'setup_complete' });

  const sc = msg.serverContent;
  if (sc !== undefined) {
    if (!isRecord(sc)) problems.push('serverContent is not an object');
    else {
      const turn = sc.modelTurn;
      if (turn !== undefined) {
        const parts = isRecord(turn) ? turn.parts : undefined;
        if (!Array.isArray(parts)) problems.push('modelTurn without parts');
        else {
          for (const part of parts) {
            const inline = isRecord(part) ? part.inlineData : undefined;
            if (!isRecord(inline)) continue; // text or thought parts: not spoken
            if (typeof inline.data !== 'string' || typeof inline.mimeType !== 'string' || !inline.mimeType.startsWith('audio/pcm')) {
              problems.push('inlineData without PCM audio');
              continue;
            }
            const rate = /rate=(\d+)/.exec(inline.mimeType)?.[1];
            actions.push({ kind: 'audio', base64: inline.data, sampleRate: rate === undefined ? undefined : Number(rate) });
          }
        }
      }
      for (const [key, role] of [['inputTranscription', 'user'], ['outputTranscription', 'assistant']] as const) {
        const t = sc[key];
        if (t === undefined) continue;
        if (!isRecord(t) || (t.text !== undefined && typeof t.text !== 'string')) {
          problems.push(`${key} is malformed`);
          continue;
        }
        const text = typeof t.text === 'string' ? t.text : '';
        const finished = t.finished === true;
        if (text !== '' || finished) actions.push({ kind: 'transcript', role, text, finished });
      }
      if (sc.interrupted === true) actions.push({ kind: 'interrupted' });
      if (sc.turnComplete === true) actions.push({ kind: 'turn_complete' });
    }
  }

  const tc = msg.toolCall;
  if (tc !== undefined) {
    const fcs = isRecord(tc) ? tc.functionCalls : undefined;
    if (!Array.isArray(fcs)) problems.push('toolCall without functionCalls');
    else {
      const calls: Array<{ id: string | undefined; name: string; args: string }> = [];
      for (const fc of fcs) {
        if (!isRecord(fc) || typeof fc.name !== 'string') {
          problems.push('functionCall without name');
          continue;
        }
        calls.push({ id: typeof fc.id === 'string' ? fc.id : undefined, name: fc.name, args: JSON.stringify(isRecord(fc.args) ? fc.args : {}) });
      }
      if (calls.length > 0) actions.push({ kind: 'tool_calls', calls });
    }
  }

  const cancel = msg.toolCallCancellation;
  if (cancel !== undefined) {
    const ids = isRecord(cancel) && Array.isArray(cancel.ids) ? cancel.ids.filter((x): x is string => typeof x === 'string') : undefined;
    if (ids === undefined) problems.push('toolCallCancellation without ids');
    else actions.push({ kind: 'tool_cancel', ids });
  }

  const goAway = msg.goAway;
  if (goAway !== undefined) actions.push({ kind: 'go_away', timeLeft: isRecord(goAway) && typeof goAway.timeLeft === 'string' ? goAway.timeLeft : undefined });

  const ru = msg.sessionResumptionUpdate;
  if (ru !== undefined) {
    if (!isRecord(ru)) problems.push('sessionResumptionUpdate is not an object');
    else {
      const handle = typeof ru.newHandle === 'string' && ru.newHandle !== '' ? ru.newHandle : undefined;
      actions.push({ kind: 'resumption', handle, resumable: ru.resumable === true });
    }
  }

  const va = msg.voiceActivity;
  if (isRecord(va)) {
    if (va.voiceActivityType === 'ACTIVITY_START') actions.push({ kind: 'speech', started: true });
    else if (va.voiceActivityType === 'ACTIVITY_END') actions.push({ kind: 'speech', started: false });
  }
  const vad = msg.voiceActivityDetectionSignal;
  if (isRecord(vad)) {
    if (vad.vadSignalType === 'VAD_SIGNAL_TYPE_SOS') actions.push({ kind: 'speech', started: true });
    else if (vad.vadSignalType === 'VAD_SIGNAL_TYPE_EOS') actions.push({ kind: 'speech', started: false });
  }
  return { actions, problems };
}
