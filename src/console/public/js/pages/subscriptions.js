import { rest } from '../api.js';
import { badge, dataTable, emptyState, errorState, h, loading, newId } from '../dom.js';
import { showFlash } from '../flash.js';
import { formatTime, storeLabel } from '../format.js';
import { loadCatalog, loadSinksOf } from './catalog.js';
import { latestOnly, pageHead } from './common.js';
import { openPublishDialog } from './publish-dialog.js';
import { healthCell, loadHealthOf } from './subscription-health.js';

// Subscriptions: REST GET /V1/async_events with searchCriteria (paging, ascending id). REST never returns the sink
// (`metadata`), so the sink column comes from GraphQL `subscription(id) { sink }`; the health column from REST
// GET /V1/async_events/subscriptions/health?ids=… (one request per page).

const PAGE_SIZE = 20;

function criteria(page, filters) {
  const p = new URLSearchParams();
  let group = 0;
  for (const [field, value] of [['event_name', filters.event], ['status', filters.status]]) {
    if (!value) continue;
    p.set(`searchCriteria[filter_groups][${group}][filters][0][field]`, field);
    p.set(`searchCriteria[filter_groups][${group}][filters][0][value]`, value);
    p.set(`searchCriteria[filter_groups][${group}][filters][0][condition_type]`, 'eq');
    group += 1;
  }
  p.set('searchCriteria[pageSize]', String(PAGE_SIZE));
  p.set('searchCriteria[currentPage]', String(page));
  p.set('searchCriteria[sortOrders][0][field]', 'subscription_id');
  p.set('searchCriteria[sortOrders][0][direction]', 'ASC');
  return p.toString();
}

function hashFor(page, filters) {
  const p = new URLSearchParams();
  if (filters.event) p.set('event', filters.event);
  if (filters.status) p.set('status', filters.status);
  if (page > 1) p.set('page', String(page));
  const q = p.toString();
  return `#/subscriptions${q ? `?${q}` : ''}`;
}

function filterForm(filters, events, go) {
  const eventId = newId('filter-event');
  const statusId = newId('filter-status');
  const eventControl = events
    ? h('select', { id: eventId, value: filters.event }, h('option', { value: '' }, 'All events'), events.map((n) => h('option', { value: n }, n)))
    : h('input', { id: eventId, type: 'text', value: filters.event, placeholder: 'Any event', spellcheck: 'false' });
  const statusControl = h('select', { id: statusId, value: filters.status },
    h('option', { value: '' }, 'Any status'), h('option', { value: '1' }, 'Enabled'), h('option', { value: '0' }, 'Disabled'));
  const apply = () => go(1, { event: eventControl.value.trim(), status: statusControl.value });
  if (events) eventControl.addEventListener('change', apply);
  statusControl.addEventListener('change', apply);
  return h('form', { class: 'toolbar filters', role: 'search', 'aria-label': 'Filter subscriptions', onsubmit: (e) => {
    e.preventDefault();
    apply();
  } },
  h('div', { class: 'row' },
    h('label', { for: eventId }, 'Event'), eventControl,
    h('label', { for: statusId }, 'Status'), statusControl,
    events ? null : h('button', { type: 'submit', class: 'secondary small' }, 'Filter'),
    filters.event || filters.status ? h('a', { href: '#/subscriptions', class: 'button secondary small' }, 'Clear filters') : null));
}

export function subscriptionsPage(main, { params, navigate }) {
  const page = Math.max(1, Number(params.get('page')) || 1);
  const filters = { event: params.get('event') ?? '', status: ['0', '1'].includes(params.get('status')) ? params.get('status') : '' };
  const go = (nextPage, nextFilters = filters) => navigate(hashFor(nextPage, nextFilters));
  const filterSlot = h('div');
  const body = h('div', null, loading('Loading subscriptions…'));
  const requests = latestOnly();
  let catalog;
  const catalogPromise = loadCatalog().then((c) => (catalog = c)).catch(() => (catalog = { events: null, argumentsOf: new Map(), sinks: [] }));

  const publish = async (eventName, storeId) => {
    await catalogPromise;
    openPublishDialog({ events: catalog.events, argumentsOf: catalog.argumentsOf, eventName, storeId });
  };

  async function setStatus(row, active) {
    try {
      await rest('PUT', `/rest/V1/async_event/${row.subscription_id}`, { asyncEvent: { status: active } });
      showFlash('ok', `Subscription ${row.subscription_id} ${active ? 'enabled' : 'disabled'}.`);
      load();
    } catch (error) {
      showFlash('error', `Could not ${active ? 'enable' : 'disable'} subscription ${row.subscription_id}: ${error.message}`);
    }
  }

  async function remove(row) {
    if (!confirm(`Delete subscription ${row.subscription_id} (${row.event_name} → ${row.recipient_url})? Its delivery log stays.`)) return;
    try {
      await rest('DELETE', `/rest/V1/async_event/${row.subscription_id}`);
      showFlash('ok', `Subscription ${row.subscription_id} deleted.`);
      load();
    } catch (error) {
      showFlash('error', `Could not delete subscription ${row.subscription_id}: ${error.message}`);
    }
  }

  function render(result, sinks, health) {
    const items = result.items ?? [];
    const total = result.total_count ?? items.length;
    if (total === 0 && (filters.event || filters.status)) {
      return emptyState('No subscription matches these filters', `Nothing ${filters.status === '1' ? 'enabled ' : filters.status === '0' ? 'disabled ' : ''}${filters.event ? `for ${filters.event}` : ''}.`,
        h('a', { class: 'button secondary', href: '#/subscriptions' }, 'Clear filters'));
    }
    if (total === 0) {
      return emptyState('No subscriptions yet', 'A subscription sends one event to one recipient (a webhook URL, an EventBridge bus…).',
        h('a', { class: 'button', href: '#/subscriptions/new' }, 'Create a subscription'));
    }
    if (items.length === 0) {
      return emptyState(`Page ${page} is empty`, `There are ${total} subscriptions.`, h('button', { type: 'button', class: 'secondary', onclick: () => go(1) }, 'First page'));
    }
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    return h('div', null,
      dataTable([
        { label: 'ID', num: true, cell: (r) => String(r.subscription_id) },
        { label: 'Status', cell: (r) => (r.status ? badge('ok', 'Enabled') : badge('off', 'Disabled')) },
        { label: 'Health', cell: (r) => healthCell(health.get(r.subscription_id)) },
        { label: 'Event', cell: (r) => h('code', null, r.event_name) },
        { label: 'Sink', cell: (r) => (sinks.get(r.subscription_id) ?? h('span', { class: 'muted', title: 'The sink could not be read (GraphQL unavailable)' }, '—')) },
        { label: 'Store', class: 'nowrap', cell: (r) => storeLabel(r.store_id) },
        { label: 'Recipient', cell: (r) => h('span', { class: 'wrap-any' }, r.recipient_url) },
        { label: 'Subscribed', cell: (r) => formatTime(r.subscribed_at) },
        // Two buttons a row, so the table with its health column fits 1280 px with every action whole.
        { label: 'Actions', cell: (r) => h('div', { class: 'actions two-up' },
          h('a', { class: 'button secondary small', href: `#/subscriptions/${r.subscription_id}/edit`, 'aria-label': `Edit subscription ${r.subscription_id}` }, 'Edit'),
          h('button', { type: 'button', class: 'secondary small', 'aria-label': `${r.status ? 'Disable' : 'Enable'} subscription ${r.subscription_id}`, onclick: () => setStatus(r, !r.status) }, r.status ? 'Disable' : 'Enable'),
          h('button', { type: 'button', class: 'secondary small', 'aria-label': `Send a test event to subscription ${r.subscription_id}`, onclick: () => publish(r.event_name, r.store_id) }, 'Test event'),
          h('button', { type: 'button', class: 'danger small', 'aria-label': `Delete subscription ${r.subscription_id}`, onclick: () => remove(r) }, 'Delete')) },
      ], items),
      pages > 1 ? h('nav', { class: 'pager', 'aria-label': 'Subscription pages' },
        h('span', { class: 'muted' }, `Page ${page} of ${pages} · ${total} subscriptions`),
        h('div', { class: 'controls' },
          h('button', { type: 'button', class: 'secondary small', disabled: page <= 1, onclick: () => go(page - 1) }, 'Previous'),
          h('button', { type: 'button', class: 'secondary small', disabled: page >= pages, onclick: () => go(page + 1) }, 'Next')))
        : h('p', { class: 'muted small' }, `${total} subscription${total === 1 ? '' : 's'}`));
  }

  async function load() {
    const isCurrent = requests.next();
    try {
      const result = await rest('GET', `/rest/V1/async_events?${criteria(page, filters)}`);
      const ids = (result.items ?? []).map((r) => r.subscription_id);
      // The list is still useful without the sink or health column.
      const [sinks, health] = await Promise.all([loadSinksOf(ids).catch(() => new Map()), loadHealthOf(ids).catch(() => new Map())]);
      if (!isCurrent()) return;
      body.replaceChildren(render(result, sinks, health));
    } catch (error) {
      if (!isCurrent()) return;
      body.replaceChildren(errorState('Subscriptions could not be loaded', error, load));
    }
  }

  main.append(pageHead('Subscriptions',
    h('button', { type: 'button', class: 'secondary', onclick: () => publish(undefined, 0) }, 'Send a test event'),
    h('a', { class: 'button', href: '#/subscriptions/new' }, 'New subscription')), filterSlot, body);
  catalogPromise.then(() => filterSlot.replaceChildren(filterForm(filters, catalog.events, go)));
  load();
  return () => requests.cancel();
}

