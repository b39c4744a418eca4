import type { EventDefinition, StoreId } from '../types.ts';

/**
 * The Magento callback: runs an event's service through Magento REST and returns the response bytes, which are
 * the event's data exactly as upstream's ServiceOutputProcessor produces them.
 */
export interface MagentoCallback {
  fetchEventData(event: EventDefinition, args: Readonly<Record<string, unknown>>, storeId: StoreId): Promise<string>;
  close(): Promise<void>;
}
