/**
 * A page of hits as the engines cut it: newest first, by `from` or keyset (`beforeLogId`), with the engine's
 * `next` cursor (null once nothing follows).
 */
export function pageOfHits<T extends { logId: number }>(all: readonly T[], page: { size: number; from?: number; beforeLogId?: number }): { total: number; hits: T[]; next: number | null } {
  const sorted = [...all].sort((a, b) => b.logId - a.logId);
  const start = page.beforeLogId === undefined ? (page.from ?? 0) : sorted.findIndex((hit) => hit.logId < (page.beforeLogId ?? 0));
  const hits = start < 0 ? [] : sorted.slice(start, start + page.size);
  const last = hits.at(-1);
  return { total: all.length, hits, next: hits.length === page.size && last !== undefined && start + page.size < sorted.length ? last.logId : null };
}
