import type { RedriveSelection } from '../../delivery/redrive.ts';
import type { ParkedMessage } from '../../store/store.ts';
import { inputError } from './errors.ts';
import { MAX_PAGE_SIZE } from './paging.ts';

/* Arguments and results of `parkedMessages` and `redriveParked`; the redrive itself is delivery/redrive.ts. */

export function parkedLimit(first: number | null | undefined): number {
  const limit = first ?? 100;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_PAGE_SIZE) throw inputError('first', `must be between 0 and ${MAX_PAGE_SIZE}, got ${limit}`);
  return limit;
}

/** `ids` or `all: true`, never both and never neither, so a mistyped call cannot redrive everything. */
export function redriveSelection(args: { ids?: readonly string[] | null; all?: boolean | null }): RedriveSelection {
  const ids = args.ids ?? undefined;
  if (args.all === true) {
    if (ids !== undefined) throw inputError('all', 'give either ids or all: true, not both');
    return { all: true };
  }
  if (ids === undefined) throw inputError('ids', 'give the ids to redrive, or all: true for every parked message');
  if (ids.length === 0) throw inputError('ids', 'must list at least one id; use all: true to redrive every parked message');
  if (ids.length > 1000) throw inputError('ids', 'must list at most 1000 ids');
  return {
    ids: ids.map((id, index) => {
      if (!/^[1-9]\d{0,14}$/.test(id)) throw inputError(`ids[${index}]`, `"${id}" is not a parked message id (a positive whole number)`);
      return Number(id);
    }),
  };
}

export function parkedNode(message: ParkedMessage) {
  return { id: String(message.id), queue: message.queue, body: message.body, reason: message.reason, parkedAt: message.created.toISOString() };
}
