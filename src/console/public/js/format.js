// Dates from the API are UTC: Magento's "YYYY-MM-DD HH:MM:SS" (REST) or ISO 8601 (GraphQL).

export function parseApiDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const text = String(value);
  const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?$/.test(text) ? `${text.replace(' ', 'T')}Z` : text;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "2026-11-27 14:30:26 UTC"; the raw text when it is not a date. */
export function formatTime(value) {
  const date = parseApiDate(value);
  if (!date) return value === null || value === undefined ? '—' : String(value);
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function formatClock(value) {
  const date = parseApiDate(value);
  return date ? date.toISOString().slice(11, 16) : String(value ?? '');
}

export function formatNumber(n) {
  return typeof n === 'number' && Number.isFinite(n) ? n.toLocaleString('en') : '—';
}

export function formatPercent(ratio) {
  if (!Number.isFinite(ratio)) return '—';
  const pct = ratio * 100;
  return `${pct < 10 && pct > 0 ? pct.toFixed(1) : Math.round(pct)}%`;
}

export function formatMs(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
}

export function truncate(text, max) {
  const s = String(text ?? '');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export function storeLabel(storeId) {
  return Number(storeId) === 0 ? 'All stores (0)' : `Store ${storeId}`;
}
