import { rest } from '../api.js';
import { columnChart } from '../charts.js';
import { badge, h } from '../dom.js';
import { formatPercent, formatTime, truncate } from '../format.js';

// Subscription health: REST GET /V1/async_events/subscriptions/health?ids=… for the table's column, and
// /V1/async_events/subscriptions/:id/health for the panel on a subscription's page.

export async function loadHealthOf(ids) {
  if (ids.length === 0) return new Map();
  const result = await rest('GET', `/rest/V1/async_events/subscriptions/health?ids=${ids.map(Number).join(',')}`);
  return new Map((result.items ?? []).map((item) => [item.subscription_id, item]));
}

export function loadHealth(id) {
  return rest('GET', `/rest/V1/async_events/subscriptions/${Number(id)}/health`);
}

function disabledLabel(health) {
  return /410 Gone/.test(health.disabled_reason ?? '') ? 'Gone (410)' : 'Auto-disabled';
}

/** The table cell: a badge for the state, the day's success rate under it. */
export function healthCell(health) {
  if (!health) return h('span', { class: 'muted', title: 'Health could not be read' }, '—');
  const rate = health.success_rate?.last_day;
  const rateLine = rate === null || rate === undefined ? null : h('div', { class: 'muted small nowrap' }, `${formatPercent(rate)} ok / 24 h`);
  switch (health.status) {
    case 'healthy':
      return h('div', { class: 'health-cell' }, badge('ok', 'Healthy'), rateLine);
    case 'failing': {
      const n = health.consecutive_failures;
      const text = n > 0 ? `Failing ×${n}` : 'Failing';
      const title = health.last_failure ? `Last failure ${formatTime(health.last_failure.at)}: ${truncate(health.last_failure.response, 200)}` : null;
      return h('div', { class: 'health-cell', title }, badge(n > 0 ? 'bad' : 'warn', text), rateLine);
    }
    case 'disabled':
      return health.disabled_reason
        ? h('div', { class: 'health-cell', title: health.disabled_reason }, badge('warn', disabledLabel(health)), rateLine)
        : h('div', { class: 'health-cell' }, h('span', { class: 'muted' }, 'Disabled'), rateLine);
    default:
      return h('div', { class: 'health-cell' }, badge('off', 'No deliveries yet'));
  }
}

/** 24 hourly points ending with the current hour, hours without attempts as zeros. */
function hourlyPoints(health) {
  const byHour = new Map((health.hourly ?? []).map((b) => [b.hour, b]));
  const now = new Date();
  now.setUTCMinutes(0, 0, 0);
  const points = [];
  for (let i = 23; i >= 0; i--) {
    const hour = new Date(now.getTime() - i * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
    const bucket = byHour.get(hour);
    points.push({ minute: hour, succeeded: bucket?.succeeded ?? 0, failed: bucket?.failed ?? 0 });
  }
  return points;
}

/** The panel on a subscription's page: the figures and the last 24 hours. */
export function healthPanel(health) {
  const failure = health.last_failure;
  const day = health.attempts?.last_day ?? { succeeded: 0, failed: 0 };
  const facts = [
    ['State', healthCell(health)],
    health.disabled_reason ? ['Disabled because', h('span', { class: 'disabled-reason' }, health.disabled_reason)] : null,
    ['Consecutive failed chains', String(health.consecutive_failures)],
    ['Last success', formatTime(health.last_success_at)],
    ['Last failure', failure ? h('span', null, `${formatTime(failure.at)}${failure.status_code ? ` (HTTP ${failure.status_code})` : ''}: `, h('code', { class: 'wrap-any' }, truncate(failure.response, 400))) : '—'],
    ['Success rate', `${health.success_rate?.last_hour === null ? '—' : formatPercent(health.success_rate.last_hour)} last hour · ${health.success_rate?.last_day === null ? '—' : formatPercent(health.success_rate.last_day)} last 24 h`],
    ['Attempts in flight', String(health.in_flight)],
  ].filter(Boolean);
  return h('section', { class: 'panel health-panel', 'aria-labelledby': 'health-title' },
    h('h2', { id: 'health-title' }, 'Delivery health'),
    h('dl', { class: 'facts' }, facts.map(([term, value]) => [h('dt', null, term), h('dd', null, value)])),
    columnChart('Attempts per hour', `${day.succeeded} succeeded and ${day.failed} failed in the last 24 hours`, hourlyPoints(health), [
      { key: 'succeeded', label: 'succeeded', fill: 'fill-ok', legend: 'bg-ok' },
      { key: 'failed', label: 'failed', fill: 'fill-bad', legend: 'bg-bad' },
    ]));
}
