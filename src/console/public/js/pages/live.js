import { h, newId } from '../dom.js';
import { formatTime } from '../format.js';
import { subscribe } from '../sse.js';
import { loadCatalog } from './catalog.js';
import { pageHead } from './common.js';

// New delivery attempts as they are logged: GraphQL `subscription { deliveryAttempts { … } }` over SSE, read with
// fetch because EventSource cannot send the Authorization header. Reconnects with backoff when the stream drops.

const QUERY = 'subscription Live($eventName: String) { deliveryAttempts(eventName: $eventName) { logId uuid subscriptionId eventName success deathCount chainStatus created } }';
const MAX_ROWS = 200;

const CHAIN = {
  delivered: ['ok', 'Delivered'],
  dead: ['bad', 'Dead Lettered'],
  retrying: ['warn', 'Retrying'],
  failed: ['bad', 'Failed'],
  pending: ['info', 'Pending'],
};

export function livePage(main, { params, navigate }) {
  const controller = new AbortController();
  const eventName = params.get('event') || null;
  const filterId = newId('live-event');
  const filterSlot = h('div', { class: 'row' });
  loadCatalog().then((catalog) => {
    if (!catalog.events || controller.signal.aborted) return;
    const select = h('select', { id: filterId, value: eventName ?? '', onchange: () => navigate(select.value ? `#/live?event=${encodeURIComponent(select.value)}` : '#/live') },
      h('option', { value: '' }, 'All events'), catalog.events.map((n) => h('option', { value: n }, n)));
    filterSlot.replaceChildren(h('label', { for: filterId }, 'Event'), select);
  }).catch(() => undefined);
  const dot = h('span', { class: 'dot', 'aria-hidden': 'true' });
  const stateText = h('span', null, 'Connecting…');
  const state = h('p', { class: 'live-state', role: 'status' }, dot, stateText);
  const counter = h('span', { class: 'muted small' });
  const tbody = h('tbody');
  const empty = h('div', { class: 'empty' }, h('strong', null, 'Waiting for deliveries'), h('p', null, 'Attempts appear here the moment they are logged. Send a test event from Subscriptions to see one.'));
  const table = h('div', { class: 'table-wrap', hidden: true }, h('table', { class: 'cards', 'aria-label': 'Live delivery attempts' },
    h('thead', null, h('tr', null, ['Time', 'Event', 'Result', 'Chain', 'Subscription', 'Trace'].map((c) => h('th', { scope: 'col' }, c)))),
    tbody));
  let paused = false;
  let seen = 0;
  const pauseButton = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false', onclick: () => {
    paused = !paused;
    pauseButton.setAttribute('aria-pressed', String(paused));
    pauseButton.textContent = paused ? 'Resume' : 'Pause';
  } }, 'Pause');
  const clearButton = h('button', { type: 'button', class: 'secondary', onclick: () => {
    tbody.replaceChildren();
    table.hidden = true;
    empty.hidden = false;
  } }, 'Clear');

  main.append(pageHead('Live', pauseButton, clearButton), h('div', { class: 'filters' }, filterSlot), h('div', { class: 'toolbar' }, state, counter), empty, table);

  function setState(kind, text) {
    dot.className = `dot ${kind}`;
    stateText.textContent = text;
  }

  function addRow(a) {
    seen += 1;
    counter.textContent = `${seen} attempt${seen === 1 ? '' : 's'} since this page opened`;
    if (paused) return;
    const [kind, label] = CHAIN[a.chainStatus] ?? ['info', a.chainStatus];
    const row = h('tr', { class: 'new-row', dataset: { uuid: a.uuid } },
      h('td', { 'data-label': 'Time' }, formatTime(a.created)),
      h('td', { 'data-label': 'Event' }, h('code', null, a.eventName)),
      h('td', { 'data-label': 'Result' }, h('span', { class: `badge ${a.success ? 'ok' : 'bad'}` }, a.success ? 'Success' : 'Failed')),
      h('td', { 'data-label': 'Chain' }, h('span', { class: `badge ${kind}` }, label), a.deathCount ? h('span', { class: 'muted small' }, ` ${a.deathCount} failed`) : null),
      h('td', { 'data-label': 'Subscription' }, h('a', { href: `#/subscriptions/${a.subscriptionId}/edit` }, `#${a.subscriptionId}`)),
      h('td', { 'data-label': 'Trace' }, h('a', { class: 'mono', href: `#/trace/${encodeURIComponent(a.uuid)}`, 'aria-label': `Trace ${a.uuid}` }, a.uuid.slice(0, 8))));
    tbody.prepend(row);
    while (tbody.children.length > MAX_ROWS) tbody.lastElementChild.remove();
    table.hidden = false;
    empty.hidden = true;
  }

  (async () => {
    let delay = 1000;
    while (!controller.signal.aborted) {
      try {
        await subscribe(QUERY, { eventName }, {
          signal: controller.signal,
          onOpen: () => {
            delay = 1000;
            setState('on', 'Connected: new attempts appear as they are logged');
          },
          onNext: (data) => addRow(data.deliveryAttempts),
        });
        if (controller.signal.aborted) return;
        setState('off', 'The server closed the feed; reconnecting…');
      } catch (error) {
        if (controller.signal.aborted) return;
        if (error.status === 401) return;
        setState('off', `${error.message} Reconnecting in ${Math.round(delay / 1000)} s…`);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  })();

  return () => controller.abort();
}
