import type { Registry } from 'prom-client';
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../core/logger.ts';
import type { WebhookStore } from '../../storage/types.ts';
import { WebhookDispatcher } from './dispatcher.ts';

/**
 * The webhook dispatcher for a gateway: config endpoints (`webhooks`), delivery settings
 * (`webhookDelivery`), and the endpoints stored through the API, loaded before it is returned.
 * Close it (`close({drainMs})`) before the storage.
 */
export async function startWebhookDispatcher(options: {
  readonly config: Pick<Config, 'webhooks' | 'webhookDelivery'>;
  readonly store: WebhookStore;
  readonly metrics: Registry;
  readonly logger: Logger;
}): Promise<WebhookDispatcher> {
  const dispatcher = new WebhookDispatcher({
    endpoints: options.config.webhooks,
    settings: options.config.webhookDelivery,
    metrics: options.metrics,
    logger: options.logger.child({ component: 'webhooks' }),
  });
  try {
    await dispatcher.loadStored(options.store);
  } catch (err) {
    await dispatcher.close();
    throw err;
  }
  return dispatcher;
}
