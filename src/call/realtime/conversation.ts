/**
 * The wiring of one speech-to-speech conversation: the call's room, the model's voice out (`Playout`),
 * transcripts and timings (`RealtimeTurns`), the tools (`RealtimeTools`: the agent's, the system tools and
 * the client tools), the event router (`RealtimeBridge`); then, once answered (when a SIP leg knows its
 * codec), the audio formats, the caller's audio (`CallerAudio`) and the model (`ModelLink`). It gets narrow
 * ports, never the session, and registers every piece's close in `closers` as it goes.
 *
 *   leg audio -> CallerAudio -> RealtimeSession.appendAudio        (G.711 straight through where it can)
 *   RealtimeSession events -> RealtimeBridge -> Playout -> leg     (paced; barge-in cancels and truncates)
 *                                            -> RealtimeTools      (room tool execution, results back)
 *                                            -> RealtimeTurns      (transcripts, timings, room history)
 */
import type { Clock } from '../../core/clock.ts';
import { AbortedError, errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { RealtimeProvider, RealtimeSession } from '../../providers/types.ts';
import type { ClientToolConnection } from '../../room/client-tool.ts';
import { RoomKit } from '../../room/room-kit.ts';
import type { Vad } from '../../vad/vad.ts';
import type { AgentRuntime } from '../agent-runtime.ts';
import type { CallEvent } from '../call-events.ts';
import type { CallLeg, CallOrigin, LegEnd } from '../call-leg.ts';
import type { SessionState } from '../session-events.ts';
import { DTMF_COLLECT_MS } from '../turn-taking.ts';
import { AgentHangup } from './agent-hangup.ts';
import { callTools } from './call-tools.ts';
import { CallerAudio } from './caller-audio.ts';
import { chooseFormats } from './formats.ts';
import { historyReplay } from './history-replay.ts';
import { Keypad } from './keypad.ts';
import { ModelLink } from './model-link.ts';
import { Playout } from './playout.ts';
import { RealtimeBridge } from './realtime-bridge.ts';
import { RealtimeTools } from './realtime-tools.ts';
import { RealtimeTurns } from './realtime-turns.ts';
import { sessionSettings } from './session-settings.ts';

/** After hangUp, the longest wait for the model to finish its last words before the call ends anyway. */
const HANGUP_GRACE_MS = 10_000;
/** From the last packet of those words leaving to the BYE: the caller's jitter buffer plays them out meanwhile. */
const HANGUP_TAIL_MS = 300;

export interface ConversationPorts {
  readonly callId: string;
  readonly leg: CallLeg;
  readonly origin: CallOrigin;
  readonly agent: AgentRuntime;
  readonly provider: RealtimeProvider;
  readonly vad: Vad;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly clientTools: ClientToolConnection;
  /** The call's client-tool connection goes away (invocations still waiting get their error). */
  readonly closeClientTools: () => void;
  readonly emit: (event: CallEvent) => void;
  readonly setState: (state: SessionState) => void;
  readonly sinceAnswer: () => number;
  /** The leg answered: the call clock starts. */
  readonly answered: () => void;
  /** The agent's hangUp acts now. */
  readonly agentHangup: (reason: string) => void;
  /** The model is gone for good: end the call with this reason. */
  readonly lose: (reason: string) => void;
}

/** Answer and converse until the leg ends; resolves with the agent's hang-up (for its reason). */
export async function converse(p: ConversationPorts, closers: Array<() => void | Promise<void>>): Promise<AgentHangup> {
  const { leg, agent, provider, clock, logger: log, emit, sinceAnswer } = p;
  const spec = agent.spec;
  const kit = new RoomKit({ logger: log, clock });
  closers.push(() => kit.close());
  const room = kit.createRoom({
    id: p.callId,
    metadata: { 'call.id': p.callId, 'call.from': p.origin.from, 'call.to': p.origin.to, 'call.medium': leg.medium, 'agent.name': spec.name },
  });
  const restoreContext = (session: RealtimeSession): void => {
    const items = historyReplay(room.history());
    if (items.length === 0) return;
    session.addHistory(items);
    log.info({ items: items.length }, 'realtime: the conversation so far replayed to a model session that started without it');
  };
  let link: ModelLink | undefined;
  const turns = new RealtimeTurns({ kit, roomId: room.id, sinceAnswer, emit, playing: () => playout.active });
  closers.push(() => turns.close());
  const playout: Playout = new Playout({ leg, logger: log, onFirstAudio: () => turns.firstAudio(), onActive: (active) => bridge.playoutActive(active) });
  closers.push(() => playout.close());
  const hangup = new AgentHangup({ clock, graceMs: HANGUP_GRACE_MS, tailMs: HANGUP_TAIL_MS, playedOut: () => playout.playedOut(), hangup: p.agentHangup });
  closers.push(() => hangup.close());
  const tools = new RealtimeTools({
    tools: callTools(agent, p.clientTools, {
      requestHangup: (reason) => hangup.request(reason),
      playedOut: (signal) => playout.playedOut(signal),
      transfer: leg.transfer,
      sendDtmf: (digits, durationMs) => leg.sendDtmf(digits, durationMs),
    }),
    policy: agent.policy,
    kit,
    roomId: room.id,
    roomMetadata: room.metadata,
    state: room.state,
    toolTimeoutMs: spec.tools.timeoutMs,
    loopTimeoutMs: spec.loop.toolLoopTimeoutSeconds === null ? null : spec.loop.toolLoopTimeoutSeconds * 1000,
    maxCallsPerTurn: spec.loop.maxToolRounds,
    clock,
    logger: log,
    sinceAnswer,
    emit: (e) => {
      emit(e);
      if (e.type === 'tool_finished') bridge.toolFinished();
    },
    send: (callId, name, output) => {
      link?.session?.sendToolResult(callId, name, output);
      bridge.toolAnswered();
    },
  });
  closers.push(() => tools.close());
  const bridge: RealtimeBridge = new RealtimeBridge({
    session: () => link?.session,
    capabilities: provider.capabilities,
    playout,
    turns,
    tools,
    logger: log,
    sinceAnswer,
    emit,
    setState: p.setState,
    onSettled: () => hangup.settled(),
    onContextLost: () => {
      const session = link?.session;
      if (session !== undefined) restoreContext(session);
    },
  });

  await raceEnd(leg.answer(), leg.ended);
  p.answered();
  const keypad = new Keypad({ clock, collectMs: DTMF_COLLECT_MS, onKeys: (text) => bridge.callerKeys(text) });
  closers.push(() => keypad.close());
  closers.push(
    leg.onDtmf((d) => {
      emit({ type: 'dtmf', digit: d.digit, atMs: sinceAnswer() });
      keypad.press(d.digit);
    }),
  );

  // The leg's codec is known once answered (SIP): formats are chosen now; caller audio is held meanwhile.
  const settings = sessionSettings(spec, provider.capabilities, chooseFormats(leg, provider.capabilities), tools.definitions());
  const audio = new CallerAudio({
    leg,
    format: settings.inputFormat,
    manual: settings.turnDetection === 'manual' ? { vad: p.vad, options: spec.vad } : undefined,
    onSpeech: (edge) => (edge === 'start' ? bridge.callerStarted('the caller spoke (VAD)') : bridge.callerEnded(true)),
    logger: log,
  });
  closers.push(() => audio.close());
  audio.start();
  const model = new ModelLink({
    provider,
    options: settings,
    onDrop: spec.realtime?.onDrop ?? 'reconnect',
    clock,
    logger: log,
    onEvent: (e) => bridge.onEvent(e),
    onSession: (session, reopened) => {
      // A new session knows nothing of the call: it is told the conversation so far before any audio.
      if (reopened) restoreContext(session);
      audio.setSink((bytes) => session.appendAudio(bytes));
    },
    onDropped: (why, reopening) => {
      audio.setSink(undefined);
      bridge.sessionReplaced();
      emit({ type: 'llm_failed', error: reopening ? `${why}; reopening a new session (the conversation so far is replayed to it as text)` : why, atMs: sinceAnswer() });
    },
    onLost: p.lose,
  });
  link = model;
  closers.push(() => model.close());
  // Closed first: the model's calls are withdrawn before the client tools still waiting are told the client
  // is gone, so no result goes to the model after the call, and each call is reported cancelled.
  closers.push(() => {
    tools.withdrawAll();
    p.closeClientTools();
  });
  try {
    await raceEnd(model.open(), leg.ended);
  } catch (err) {
    if (err instanceof AbortedError) throw err;
    p.lose(`realtime model unavailable (${errorMessage(err)})`);
    throw new AbortedError('no realtime model');
  }
  log.info({ format: leg.inputFormat, model: provider.name, input: settings.inputFormat, output: settings.outputFormat, turnDetection: settings.turnDetection }, 'speech-to-speech call connected');
  if (spec.greeting !== undefined) bridge.greet();
  await leg.ended;
  return hangup;
}

/** Wait for `work` unless the leg ends first (a caller hanging up while we answer or connect). */
async function raceEnd(work: Promise<void>, ended: Promise<LegEnd>): Promise<void> {
  const r = await Promise.race([work.then(() => undefined), ended]);
  if (r !== undefined) throw new AbortedError(`the call ended first (${r.reason})`);
}
