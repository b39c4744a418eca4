import { ApiError, graphql, rest } from '../api.js';
import { columnChart, ratioChart } from '../charts.js';
import { badge, dataTable, emptyState, errorState, h, loading } from '../dom.js';
import { formatMs, formatNumber, formatPercent, truncate } from '../format.js';
import { latestOnly, pageHead } from './common.js';

// GET /rest/V1/async_events/overview → { perMinute: [{minute, delivered, failed, retried}], queueDepth: {trigger,
// retry}, deadLettered, slowest: [{subscriptionId, recipientUrl, p95Ms}], mostFailing: [{subscriptionId,
// recipientUrl, failures}], services: [{name, up, detail}] }. Without that route the page says so and still shows
// the services from GraphQL `health`.

const REFRESH_MS = 30_000;

function stat(label, value, sub, kind) {
  return h('div', { class: `stat ${kind ?? ''}` }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value), sub ? h('div', { class: 'sub' }, sub) : null);
}

export function servicesList(services) {
  if (!services?.length) return emptyState('No services reported', 'The sidecar reported no backing services.');
  return h('ul', { class: 'services' }, services.map((s) => h('li', { class: s.up ? 'up' : 'down' },
    h('div', { class: 'row' }, h('span', { class: 'name' }, s.name), s.up ? badge('ok', 'up') : badge('bad', 'down')),
    h('div', { class: 'detail' }, s.detail || (s.up ? 'answering' : 'not answering')))));
}

function subscriptionLink(id, url) {
  return h('span', null, h('a', { href: `#/subscriptions/${id}/edit` }, `#${id}`), ' ', h('span', { class: 'muted wrap-any' }, truncate(url, 60)));
}

function renderOverview(data) {
  const points = Array.isArray(data.perMinute) ? data.perMinute : [];
  const delivered = points.reduce((n, p) => n + (Number(p.delivered) || 0), 0);
  const failed = points.reduce((n, p) => n + (Number(p.failed) || 0), 0);
  const retried = points.reduce((n, p) => n + (Number(p.retried) || 0), 0);
  const attempts = delivered + failed;
  const rate = attempts === 0 ? NaN : failed / attempts;
  const down = (data.services ?? []).filter((s) => !s.up);
  const queue = data.queueDepth ?? {};

  return h('div', { class: 'stack' },
    down.length ? h('div', { class: 'notice error', role: 'alert' }, h('strong', null, `${down.length} service${down.length > 1 ? 's' : ''} down: `), down.map((s) => s.name).join(', ')) : null,
    h('div', { class: 'grid cards' },
      stat('Delivered, last hour', formatNumber(delivered), `${formatNumber(attempts)} attempts`),
      stat('Failure rate', formatPercent(rate), `${formatNumber(failed)} failed attempts`, rate > 0.05 ? 'bad' : ''),
      stat('Retries, last hour', formatNumber(retried)),
      stat('Queue depth', formatNumber((Number(queue.trigger) || 0) + (Number(queue.retry) || 0)), `trigger ${formatNumber(queue.trigger)} · retry ${formatNumber(queue.retry)}`),
      stat('Dead-lettered chains', formatNumber(data.deadLettered), h('a', { href: '#/log?q=success%3Afalse' }, 'failed attempts in the log'), data.deadLettered > 0 ? 'bad' : '')),
    points.length === 0 || attempts + retried === 0
      ? emptyState('No deliveries in the last hour', 'Charts appear once events are delivered.')
      : h('div', { class: 'grid charts' },
        columnChart('Deliveries per minute', `${formatNumber(delivered)} delivered and ${formatNumber(failed)} failed in the last hour`, points, [
          { key: 'delivered', label: 'delivered', fill: 'fill-ok', legend: 'bg-ok' },
          { key: 'failed', label: 'failed', fill: 'fill-bad', legend: 'bg-bad' },
        ]),
        ratioChart('Failure rate', `${formatPercent(rate)} of attempts failed in the last hour`, points, (p) => {
          const total = (Number(p.delivered) || 0) + (Number(p.failed) || 0);
          return total === 0 ? null : (Number(p.failed) || 0) / total;
        }),
        columnChart('Retries per minute', `${formatNumber(retried)} retries in the last hour`, points, [
          { key: 'retried', label: 'retries', fill: 'fill-warn', legend: 'bg-warn' },
        ])),
    h('div', { class: 'grid two' },
      h('section', { class: 'panel', 'aria-labelledby': 'slowest-title' }, h('h2', { id: 'slowest-title' }, 'Slowest subscriptions'),
        data.slowest?.length
          ? dataTable([
            { label: 'Subscription', cell: (r) => subscriptionLink(r.subscriptionId, r.recipientUrl) },
            { label: 'p95', num: true, cell: (r) => formatMs(r.p95Ms) },
          ], data.slowest)
          : h('p', { class: 'muted' }, 'No deliveries measured yet.')),
      h('section', { class: 'panel', 'aria-labelledby': 'failing-title' }, h('h2', { id: 'failing-title' }, 'Most failing subscriptions'),
        data.mostFailing?.length
          ? dataTable([
            { label: 'Subscription', cell: (r) => subscriptionLink(r.subscriptionId, r.recipientUrl) },
            { label: 'Failures', num: true, cell: (r) => formatNumber(r.failures) },
          ], data.mostFailing)
          : h('p', { class: 'muted' }, 'No failures in the last hour.'))),
    h('section', { 'aria-labelledby': 'services-title' }, h('h2', { id: 'services-title' }, 'Backing services'), servicesList(data.services)));
}

async function renderWithoutOverview(body, isCurrent) {
  const notice = h('div', { class: 'notice warn' },
    h('h2', null, 'Overview not available'),
    h('p', null, 'This sidecar does not serve GET /rest/V1/async_events/overview, so delivery charts, queue depth and the slowest subscriptions cannot be shown. The delivery log and live feed still work.'));
  const services = h('section', { 'aria-labelledby': 'services-title' }, h('h2', { id: 'services-title' }, 'Backing services'), loading('Asking the services…'));
  body.replaceChildren(h('div', { class: 'stack' }, notice, services));
  try {
    const data = await graphql('{ health { name up detail } }');
    if (!isCurrent()) return;
    services.replaceChildren(services.firstChild, servicesList(data.health));
  } catch (error) {
    if (!isCurrent()) return;
    services.replaceChildren(services.firstChild, errorState('Service states unavailable', error));
  }
}

export function overviewPage(main) {
  const body = h('div', null, loading());
  const updated = h('span', { class: 'muted small', 'aria-live': 'off' });
  const requests = latestOnly();
  const load = async () => {
    const isCurrent = requests.next();
    try {
      const data = await rest('GET', '/rest/V1/async_events/overview');
      if (!isCurrent()) return;
      body.replaceChildren(renderOverview(data ?? {}));
      updated.textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC`;
    } catch (error) {
      if (!isCurrent()) return;
      if (error instanceof ApiError && error.status === 404) await renderWithoutOverview(body, isCurrent);
      else body.replaceChildren(errorState('The overview could not be loaded', error, load));
    }
  };
  main.append(pageHead('Overview', updated, h('button', { type: 'button', class: 'secondary small', onclick: load }, 'Refresh')), body);
  load();
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') load();
  }, REFRESH_MS);
  return () => {
    clearInterval(timer);
    requests.cancel();
  };
}
