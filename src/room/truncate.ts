/** Default cap on a tool result, in estimated tokens (RoomKit truncates at about 30K). */
export const DEFAULT_MAX_RESULT_TOKENS = 30_000;

/** Characters per token for the estimate; English text and JSON average close to four. */
const CHARS_PER_TOKEN = 4;

export interface TruncateResult {
  readonly text: string;
  readonly truncated: boolean;
  /** Characters removed. */
  readonly omittedChars: number;
}

/** Rough token count of a string (chars / 4): cheap, vendor-neutral, errs on the generous side for code. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/**
 * Cut a tool result that would flood the context. The head is kept (most tools put the useful part
 * first) and a visible marker says how much was dropped, so the model knows the result is partial
 * and can ask for less instead of reasoning over a silently clipped answer.
 */
export function truncateToolResult(text: string, maxTokens: number = DEFAULT_MAX_RESULT_TOKENS): TruncateResult {
  const maxChars = Math.max(0, Math.floor(maxTokens * CHARS_PER_TOKEN));
  if (text.length <= maxChars) return { text, truncated: false, omittedChars: 0 };
  let keep = maxChars;
  // Do not split a UTF-16 surrogate pair: half an emoji is not valid text for the vendor's JSON.
  const last = text.charCodeAt(keep - 1);
  if (keep > 0 && last >= 0xd800 && last <= 0xdbff) keep--;
  const omitted = text.length - keep;
  const marker =
    `\n\n[TRUNCATED: tool result exceeded ~${maxTokens} tokens; ${omitted} of ${text.length} characters ` +
    `(~${estimateTokens(text.slice(keep))} tokens) omitted]`;
  return { text: text.slice(0, keep) + marker, truncated: true, omittedChars: omitted };
}
