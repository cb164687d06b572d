/**
 * The demo agent's tools: a pretend order lookup and the clock. They run in-process (no network), so the
 * default configuration shows a real tool round trip anywhere. The order "database" is a deterministic
 * function of the number, so tests and users get the same answer for the same order.
 */
import { z } from 'zod';
import { defineTool } from '../room/define-tool.ts';
import type { Tool } from '../room/tool.ts';

const STATUSES = ['out for delivery and should arrive today', 'shipped and should arrive tomorrow', 'being packed at the warehouse', 'delivered'];

export function demoTools(now: () => Date = () => new Date()): Tool[] {
  return [
    defineTool({
      name: 'check_order_status',
      description: 'Look up the delivery status of an order by its number.',
      parameters: z.object({ orderNumber: z.string().regex(/^[0-9]{3,12}$/).describe('The order number, digits only') }),
      run: ({ orderNumber }) => {
        let h = 0;
        for (const c of orderNumber) h = (h * 31 + c.charCodeAt(0)) >>> 0;
        return { orderNumber, status: STATUSES[h % STATUSES.length] };
      },
    }),
    defineTool({
      name: 'get_time',
      description: "Tell the current time on the gateway's clock.",
      parameters: z.object({}),
      run: () => {
        const d = now();
        const h = d.getHours();
        const m = d.getMinutes();
        const spoken = `${h % 12 === 0 ? 12 : h % 12}:${String(m).padStart(2, '0')} ${h < 12 ? 'AM' : 'PM'}`;
        return { time: d.toISOString(), spoken };
      },
    }),
  ];
}
