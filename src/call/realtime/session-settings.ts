/**
 * A call's `RealtimeSessionOptions` from its agent: the system prompt (with the greeting to say first, as
 * a realtime model takes no fixed text to speak), voice and model, the formats chosen for the leg, the
 * tools, transcripts of both sides always on (the call's record and events need them), and the agent's
 * turn detection where the model offers it (else the model's own VAD).
 */
import type { AgentSpec } from '../../config/agent-schema.ts';
import type { RealtimeCapabilities, RealtimeSessionOptions, RealtimeTurnDetection, ToolDefinition } from '../../providers/types.ts';
import type { RealtimeFormats } from './formats.ts';

export function sessionSettings(spec: AgentSpec, capabilities: RealtimeCapabilities, formats: RealtimeFormats, tools: readonly ToolDefinition[]): RealtimeSessionOptions {
  const rt = spec.realtime;
  const instructions =
    spec.greeting === undefined ? spec.systemPrompt : `${spec.systemPrompt}\n\nWhen the call connects, greet the caller with exactly these words: "${spec.greeting}"`;
  return {
    instructions,
    tools,
    inputFormat: formats.input,
    outputFormat: formats.output,
    turnDetection: turnDetection(rt?.turnDetection ?? 'server_vad', capabilities),
    transcription: true,
    ...(rt?.voice === undefined ? {} : { voice: rt.voice }),
    ...(rt?.model === undefined ? {} : { model: rt.model }),
  };
}

function turnDetection(wanted: RealtimeTurnDetection, capabilities: RealtimeCapabilities): RealtimeTurnDetection {
  if (capabilities.turnDetection.includes(wanted)) return wanted;
  if (capabilities.turnDetection.includes('server_vad')) return 'server_vad';
  return capabilities.turnDetection[0] ?? 'manual';
}
