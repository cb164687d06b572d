/**
 * `callroom calls show ID [--url URL] [--api-key KEY]`: fetch a call record from a running gateway's REST API
 * and draw its per-turn latency waterfall.
 */
import { parseArgs } from 'node:util';
import { errorMessage } from '../core/errors.ts';
import { renderCall, type CallView } from './waterfall.ts';

export const CALLS_USAGE = '  callroom calls show ID [--url URL] [--api-key KEY]   draw a call\'s per-turn latency waterfall (default URL http://127.0.0.1:8080)';

export async function callsCommand(args: readonly string[], out: (text: string) => void, err: (text: string) => void): Promise<number> {
  let values: { url?: string | undefined; 'api-key'?: string | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: { url: { type: 'string' }, 'api-key': { type: 'string' } },
    }));
  } catch (e) {
    err(`callroom: ${errorMessage(e)}\n${CALLS_USAGE}\n`);
    return 2;
  }
  const [sub, id, ...extra] = positionals;
  if (sub !== 'show' || id === undefined || id === '' || extra.length > 0) {
    err(`usage:\n${CALLS_USAGE}\n`);
    return 2;
  }
  const base = (values.url ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  let res: Response;
  try {
    res = await fetch(`${base}/calls/${encodeURIComponent(id)}`, {
      headers: values['api-key'] === undefined ? {} : { 'x-api-key': values['api-key'] },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (e) {
    err(`callroom: cannot reach ${base}: ${errorMessage(e)}\n`);
    return 1;
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not JSON: show it as it is
    }
    err(`callroom: ${res.status} ${message}\n`);
    return 1;
  }
  try {
    out(renderCall(JSON.parse(text) as CallView));
  } catch (e) {
    err(`callroom: the answer is not a call record: ${errorMessage(e)}\n`);
    return 1;
  }
  return 0;
}
