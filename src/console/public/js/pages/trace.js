import { ApiError, rest } from '../api.js';
import { badge, dataTable, errorState, h, loading } from '../dom.js';
import { showFlash } from '../flash.js';
import { formatTime, storeLabel } from '../format.js';
import { latestOnly, pageHead } from './common.js';

// One delivery (UUID): REST GET /V1/async_events/logs/:uuid → { uuid, chain, attempts[], payload_pretty }, the
// subscription from GET /V1/async_event/:id, and Replay (POST /V1/async_events/logs/:uuid/replay).

const STATUS = {
  delivered: { text: 'Delivered', kind: 'ok' },
  dead: { text: 'Dead Lettered', kind: 'bad' },
  retrying: { text: 'Retrying', kind: 'warn' },
  pending: { text: 'Pending', kind: 'info' },
  failed: { text: 'Failed', kind: 'bad' },
};
const POLL_MS = 2000;

/** Upstream's trace status: counts the attempts before the first success (all but one when none succeeded). */
export function describeStatus(trace) {
  const attempts = [...(trace.attempts ?? [])].sort((a, b) => a.log_id - b.log_id);
  const firstSuccess = attempts.findIndex((a) => a.success);
  const retries = firstSuccess >= 0 ? firstSuccess : Math.max(0, attempts.length - 1);
  const key = trace.chain?.status ?? (firstSuccess >= 0 ? 'delivered' : 'dead');
  const status = STATUS[key] ?? { text: key, kind: 'info' };
  const withRetries = key === 'delivered' || key === 'dead' || key === 'failed' ? ` with ${retries} ${retries === 1 ? 'retry' : 'retries'}` : '';
  return { key, text: `${status.text}${withRetries}`, kind: status.kind, retries, attempts };
}

function responseCell(text) {
  const value = String(text ?? '');
  if (value.length <= 140) return h('span', { class: 'wrap-any' }, value || '—');
  return h('details', null, h('summary', null, `${value.slice(0, 100)}…`), h('pre', { class: 'response' }, value));
}

export function tracePage(main, { args }) {
  let uuid;
  try {
    uuid = decodeURIComponent(args[0]);
  } catch {
    uuid = args[0];
  }
  const body = h('div', null, loading('Loading the trace…'));
  const replayButton = h('button', { type: 'button', onclick: () => replay() }, 'Replay');
  const requests = latestOnly();
  let timer;
  let pollUntil = 0;

  main.append(pageHead('Trace', h('a', { class: 'button secondary', href: '#/log' }, 'Back to the log'), replayButton),
    h('p', { class: 'mono wrap-any muted' }, uuid), body);

  async function replay() {
    replayButton.disabled = true;
    try {
      const result = await rest('POST', `/rest/V1/async_events/logs/${encodeURIComponent(uuid)}/replay`);
      showFlash('ok', `Replay started for subscription ${result.subscription_id}: a new chain under the same UUID. New attempts appear below.`);
      pollUntil = Date.now() + 15_000;
      load();
    } catch (error) {
      showFlash('error', `Replay failed: ${error.message}`);
    } finally {
      replayButton.disabled = false;
    }
  }

  function schedule(active) {
    clearTimeout(timer);
    if (active || Date.now() < pollUntil) timer = setTimeout(load, POLL_MS);
  }

  function render(trace, subscription) {
    const status = describeStatus(trace);
    const first = status.attempts[0];
    const last = status.attempts[status.attempts.length - 1];
    const subscriptionId = trace.chain?.subscription_id ?? first?.subscription_id;
    const eventName = trace.chain?.event_name ?? first?.event_name ?? '—';
    return h('div', { class: 'stack' },
      h('div', { class: 'grid two' },
        h('section', { class: 'panel', 'aria-labelledby': 'trace-overview' }, h('h2', { id: 'trace-overview' }, 'Overview'),
          h('p', { class: `trace-status ${status.kind}`, 'data-status': status.key }, status.text),
          h('dl', { class: 'facts' },
            h('dt', null, 'Event'), h('dd', null, h('code', null, eventName)),
            h('dt', null, 'Attempts'), h('dd', null, String(status.attempts.length)),
            h('dt', null, 'First attempt'), h('dd', null, formatTime(first?.created ?? null)),
            h('dt', null, 'Last attempt'), h('dd', null, formatTime(last?.created ?? null)),
            trace.chain?.next_attempt_at && trace.chain.status === 'retrying' ? [h('dt', null, 'Next attempt'), h('dd', null, formatTime(trace.chain.next_attempt_at))] : null,
            trace.chain ? [h('dt', null, 'Store'), h('dd', null, storeLabel(trace.chain.store_id))] : null)),
        h('section', { class: 'panel', 'aria-labelledby': 'trace-subscription' }, h('h2', { id: 'trace-subscription' }, 'Subscription'),
          subscription
            ? h('dl', { class: 'facts' },
              h('dt', null, 'ID'), h('dd', null, h('a', { href: `#/subscriptions/${subscription.subscription_id}/edit` }, `#${subscription.subscription_id}`)),
              h('dt', null, 'Status'), h('dd', null, subscription.status ? badge('ok', 'Enabled') : badge('off', 'Disabled')),
              h('dt', null, 'Recipient'), h('dd', null, subscription.recipient_url),
              h('dt', null, 'Subscribed at'), h('dd', null, formatTime(subscription.subscribed_at)))
            : h('p', { class: 'muted' }, subscriptionId === undefined ? 'Unknown.' : `Subscription #${subscriptionId} no longer exists; it was deleted after these attempts.`))),
      h('section', { 'aria-labelledby': 'trace-attempts' }, h('h2', { id: 'trace-attempts' }, 'Attempts'),
        status.attempts.length
          ? dataTable([
            { label: '#', num: true, cell: (_r) => String(status.attempts.indexOf(_r) + 1) },
            { label: 'Log ID', num: true, cell: (r) => String(r.log_id) },
            { label: 'Time', class: 'nowrap', cell: (r) => formatTime(r.created) },
            { label: 'Result', cell: (r) => (r.success ? badge('ok', 'Success') : badge('bad', 'Failed')) },
            // Where this attempt went, as logged with it: the subscription may point elsewhere since.
            { label: 'Sent to', cell: (r) => h('span', { class: 'muted wrap-any' }, r.sink ? `${r.sink} · ${r.recipient_url}` : r.recipient_url) },
            { label: 'Response', cell: (r) => responseCell(r.response_data) },
          ], status.attempts)
          : h('p', { class: 'muted' }, 'No attempt has been made yet.')),
      h('section', { 'aria-labelledby': 'trace-payload' }, h('h2', { id: 'trace-payload' }, 'Payload'),
        trace.payload_pretty
          ? h('pre', { class: 'payload', tabindex: '0', 'aria-label': 'Delivered payload, JSON' }, trace.payload_pretty)
          : h('p', { class: 'muted' }, 'No payload was stored for this delivery.')));
  }

  async function load() {
    const isCurrent = requests.next();
    try {
      const trace = await rest('GET', `/rest/V1/async_events/logs/${encodeURIComponent(uuid)}`);
      const subscriptionId = trace.chain?.subscription_id ?? trace.attempts?.[0]?.subscription_id;
      let subscription = null;
      if (subscriptionId !== undefined) {
        try {
          subscription = await rest('GET', `/rest/V1/async_event/${subscriptionId}`);
        } catch (error) {
          if (!(error instanceof ApiError && error.status === 404)) throw error;
        }
      }
      if (!isCurrent()) return;
      body.replaceChildren(render(trace, subscription));
      schedule(trace.chain?.status === 'retrying' || trace.chain?.status === 'pending');
    } catch (error) {
      if (!isCurrent()) return;
      if (error instanceof ApiError && error.status === 404) {
        replayButton.disabled = true;
        body.replaceChildren(errorState('This asynchronous event trace no longer exists', error));
      } else if (error instanceof ApiError && error.status === 400) {
        replayButton.disabled = true;
        body.replaceChildren(errorState('Not a delivery UUID', error));
      } else {
        body.replaceChildren(errorState('The trace could not be loaded', error, load));
      }
    }
  }

  load();
  return () => {
    clearTimeout(timer);
    requests.cancel();
  };
}
