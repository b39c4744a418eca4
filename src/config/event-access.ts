import { AsyncEventsError } from '../errors.ts';
import type { EventRegistry, Principal, ResourceCheck } from '../types.ts';

/** Magento's "All" resource: what an event needs when its declaration (and so its `<resources>`) is gone. */
export const ALL_RESOURCES = 'Magento_Backend::all';

/**
 * The one rule for "may this caller see or act on event X": subscribing to it, changing or deleting its
 * subscriptions, publishing it, reading its traces and payloads, replaying it. The caller must hold every ACL
 * resource the event's `<resources>` lists, as upstream's validateResources asks of subscribers, since each of
 * those hands over (or triggers the fetch of) the event's data. An event no longer declared has unknown
 * resources, so only a caller with all resources may touch what it left in the log.
 */
export interface EventAccess {
  /** The ACL resources acting on the event needs. */
  resourcesOf(eventName: string): readonly string[];
  /** Resolves when the principal may; throws AsyncEventsError('FORBIDDEN', …, { resources, eventName }) when not. */
  assertAllowed(principal: Principal, eventName: string): Promise<void>;
  /** The same verdict as a boolean, for filtering (replay by query). */
  allows(principal: Principal, eventName: string): Promise<boolean>;
}

export function createEventAccess(options: { events: () => EventRegistry; isAllowed: ResourceCheck | undefined }): EventAccess {
  const resourcesOf = (eventName: string): readonly string[] => {
    const event = options.events().get(eventName);
    return event ? (event.resources ?? []) : [ALL_RESOURCES];
  };
  const allows = async (principal: Principal, eventName: string): Promise<boolean> => {
    const resources = resourcesOf(eventName);
    if (resources.length === 0 || options.isAllowed === undefined) return true;
    return (await options.isAllowed(principal, resources)) !== false;
  };
  return {
    resourcesOf,
    allows,
    async assertAllowed(principal, eventName) {
      if (await allows(principal, eventName)) return;
      const resources = resourcesOf(eventName);
      throw new AsyncEventsError('FORBIDDEN', `The consumer isn't authorized to access ${resources.join(', ')}.`, { resources: [...resources], eventName });
    },
  };
}
