import type { EventDefinition, StoreId } from '../types.ts';

/**
 * The Magento callback: runs an event's service through Magento REST and returns the response bytes, which are
 * the event's data exactly as upstream's ServiceOutputProcessor produces them.
 */
export interface MagentoCallback {
  /**
   * Throws `MagentoCallbackError` (its `retryable` says whether to hold or park the message), `CALLBACK_NO_ROUTE`
   * when no route runs the service, or `SHUTTING_DOWN` once `signal` aborts.
   */
  fetchEventData(event: EventDefinition, args: Readonly<Record<string, unknown>>, storeId: StoreId, signal?: AbortSignal): Promise<string>;
  close(): Promise<void>;
}
