import type { JoinTokens } from '../core/join-token.ts';
import type { Storage } from '../storage/types.ts';
import type { CallsPort } from './calls-port.ts';
import type { WebhookDispatcher } from './webhooks/dispatcher.ts';

/** What the REST API is built from (main.ts assembles it; see registerApi). */
export interface ApiOptions {
  readonly storage: Storage;
  readonly calls: CallsPort;
  readonly webhooks: WebhookDispatcher;
  /** Issues the join tokens of WebSocket calls; the WebSocket medium verifies with the same instance. */
  readonly joinTokens: JoinTokens;
  /** Control-socket tokens (a separate token family); when given, calls come with a `controlUrl`. */
  readonly controlTokens?: JoinTokens;
  readonly controlPath?: string;
  /** `http.apiKeys`. Empty: loopback clients only. */
  readonly apiKeys: readonly string[];
  /** `limits.maxConcurrentCalls`: POST /calls answers 429 at this many live calls. */
  readonly maxConcurrentCalls: number;
  /** `limits.maxCallSeconds`: the default and upper bound of a call's maxDurationSeconds. */
  readonly maxCallSeconds: number;
  /** `http.maxBodyBytes`. */
  readonly maxBodyBytes: number;
  /** `http.publicUrl`: base of `joinUrl` (http becomes ws, https wss); default: the request's own host. */
  readonly publicUrl?: string;
  /** Path of the WebSocket medium's join route (default {@link DEFAULT_JOIN_PATH}); the token goes in `?token=`. */
  readonly joinPath?: string;
  /** Names API agents may not take (the config file's agents: a SIP call by name must reach one agent). */
  readonly reservedAgentNames?: readonly string[];
  /** Trunk names `sip` calls may dial out through (`sip.trunks[].name`); any name is passed on when absent. */
  readonly sipTrunks?: readonly string[];
  /** Several nodes: the public URL of the node holding a live call, when it is another node (controlUrl points there). */
  readonly callNodeUrl?: (callId: string) => Promise<string | undefined>;
}

export const DEFAULT_JOIN_PATH = '/ws/join';
