import type { LogRowWithEvent, Store } from '../../store/store.ts';
import type { ChainStatus, Subscription } from '../../types.ts';
import { indentJson } from './pretty-json.ts';

export type DeliveryStatus = 'DELIVERED' | 'DEAD_LETTERED' | 'RETRYING' | 'PENDING' | 'FAILED';

export interface TraceView {
  readonly uuid: string;
  readonly status: DeliveryStatus;
  readonly retries: number;
  readonly firstAttempt: string | null;
  readonly lastAttempt: string | null;
  readonly subscription: Subscription | null;
  readonly attempts: readonly LogRowWithEvent[];
  readonly payload: string | null;
}

const STATUS: Record<ChainStatus, DeliveryStatus> = {
  delivered: 'DELIVERED',
  dead: 'DEAD_LETTERED',
  retrying: 'RETRYING',
  pending: 'PENDING',
  failed: 'FAILED',
};

/**
 * Everything upstream's trace page shows about one UUID. Rows written by the PHP module have no chain row of ours;
 * their status is judged as upstream does: delivered when an attempt succeeded, else dead-lettered.
 */
export async function buildTrace(store: Store, uuid: string): Promise<TraceView | undefined> {
  const [rows, chain] = await Promise.all([store.log.attempts(uuid), store.log.chain(uuid)]);
  if (rows.length === 0 && chain === undefined) return undefined;
  const attempts = [...rows].sort((a, b) => a.logId - b.logId);
  const first = attempts[0];
  const last = attempts[attempts.length - 1];
  const firstSuccess = attempts.findIndex((row) => row.success);
  const subscriptionId = chain?.subscriptionId ?? first?.subscriptionId;
  const subscription = subscriptionId === undefined ? undefined : await store.subscriptions.get(subscriptionId);
  return {
    uuid,
    status: chain ? STATUS[chain.status] : firstSuccess >= 0 ? 'DELIVERED' : 'DEAD_LETTERED',
    // Upstream counts the rows up to the first success, minus the successful one.
    retries: firstSuccess >= 0 ? firstSuccess : Math.max(0, attempts.length - 1),
    firstAttempt: first ? first.created.toISOString() : null,
    lastAttempt: last ? last.created.toISOString() : null,
    subscription: subscription ?? null,
    attempts,
    payload: first?.serializedData == null ? null : indentJson(first.serializedData),
  };
}
