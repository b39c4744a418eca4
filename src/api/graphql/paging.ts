import { inputError } from './errors.ts';

/** Largest page a client may ask for; bigger reads go through several pages. */
export const MAX_PAGE_SIZE = 500;

export interface Page {
  readonly first: number;
  readonly offset: number;
}

/** `first`/`offset` arguments, defaulted when omitted or null, refused when out of range. */
export function pageFromArgs(args: { first?: number | null; offset?: number | null }, defaultSize = 20): Page {
  const first = args.first ?? defaultSize;
  const offset = args.offset ?? 0;
  if (first < 0 || first > MAX_PAGE_SIZE) throw inputError('first', `must be between 0 and ${MAX_PAGE_SIZE}, got ${first}`);
  if (offset < 0) throw inputError('offset', `must be 0 or more, got ${offset}`);
  return { first, offset };
}
