import { rest, restBlob } from '../api.js';
import { badge, dataTable, emptyState, errorState, h, loading, newId } from '../dom.js';
import { showFlash } from '../flash.js';
import { formatTime, truncate } from '../format.js';
import { latestOnly, pageHead } from './common.js';

// The delivery log: REST GET /V1/async_events/logs?query=&pageSize=&currentPage= (Lucene over log_id, uuid,
// event_name, success, created, data.*), CSV of the same search, and replay of every chain it matches.

export const EXAMPLES = [
  'event_name: customer.*',
  '*.created',
  'customer.* AND success: false',
  'data.data.customer_email: roni_cost@example.com',
  'data.data.increment_id: CK* AND success: true',
];

const FILTERS = [
  { value: 'all', label: 'All' },
  { value: 'success', label: 'Delivered' },
  { value: 'failed', label: 'Failed' },
];
const SIZES = [20, 50, 100, 500];

let focusSearch = false;

/** The query sent to the API, and how far the user's text is shifted inside it (for error positions). */
export function effectiveQuery(q, filter) {
  const text = q.trim();
  const clause = filter === 'success' ? 'success:true' : filter === 'failed' ? 'success:false' : '';
  if (!clause) return { query: text, shift: -(q.length - q.trimStart().length) };
  if (!text) return { query: clause, shift: 0 };
  return { query: `(${text}) AND ${clause}`, shift: 1 - (q.length - q.trimStart().length) };
}

function hashFor(state) {
  const p = new URLSearchParams();
  if (state.q) p.set('q', state.q);
  if (state.filter !== 'all') p.set('filter', state.filter);
  if (state.page > 1) p.set('page', String(state.page));
  if (state.size !== 20) p.set('size', String(state.size));
  const s = p.toString();
  return `#/log${s ? `?${s}` : ''}`;
}

function queryErrorView(q, error, shift) {
  const column = typeof error.position === 'number' ? error.position - shift : undefined;
  const inside = column !== undefined && column >= 1 && column <= q.length + 1;
  const at = inside ? column - 1 : -1;
  return h('div', { class: 'notice error query-error', role: 'alert', id: 'query-error' },
    h('strong', null, 'The query cannot be read: '), error.message,
    inside ? h('pre', { 'aria-label': `Query with column ${column} marked` },
      q.slice(0, at),
      h('mark', { title: `column ${column}` }, at < q.length ? q[at] : ' '),
      q.slice(at + 1)) : null,
    inside ? h('p', { class: 'small' }, `The problem is at column ${column}${at >= q.length ? ' (the end of the query)' : ''}.`) : null);
}

export function logPage(main, { params, navigate }) {
  const state = {
    q: params.get('q') ?? '',
    filter: FILTERS.some((f) => f.value === params.get('filter')) ? params.get('filter') : 'all',
    page: Math.max(1, Math.floor(Number(params.get('page'))) || 1),
    size: SIZES.includes(Number(params.get('size'))) ? Number(params.get('size')) : 20,
  };
  const go = (changes) => navigate(hashFor({ ...state, ...changes }));
  const { query, shift } = effectiveQuery(state.q, state.filter);
  const requests = latestOnly();
  const ids = { q: newId('q'), hint: newId('q-hint'), filter: newId('filter') };

  const input = h('input', { id: ids.q, name: 'q', type: 'search', value: state.q, spellcheck: 'false', autocomplete: 'off', placeholder: 'Search using Lucene Query Syntax', 'aria-describedby': ids.hint });
  const submitSearch = (q) => {
    focusSearch = true;
    go({ q, page: 1 });
  };
  const form = h('form', { class: 'panel search-form', role: 'search', onsubmit: (e) => {
    e.preventDefault();
    submitSearch(input.value);
  } },
  h('label', { for: ids.q }, 'Lucene query'),
  h('div', { class: 'input-row' }, input, h('button', { type: 'submit' }, 'Search')),
  h('p', { id: ids.hint, class: 'hint' }, 'Fields: log_id, uuid, event_name, success, created, data.* (e.g. data.data.increment_id). Empty shows every attempt.'),
  h('div', { class: 'examples' }, h('span', { class: 'muted small' }, 'Examples:'),
    EXAMPLES.map((example) => h('button', { type: 'button', class: 'chip', title: `Search for ${example}`, onclick: () => submitSearch(example) }, example))),
  h('fieldset', null, h('legend', { id: ids.filter }, 'Show'),
    h('div', { class: 'segmented', role: 'radiogroup', 'aria-labelledby': ids.filter },
      FILTERS.map((f) => h('label', null, h('input', { type: 'radio', name: 'filter', value: f.value, checked: state.filter === f.value, onchange: () => go({ filter: f.value, page: 1 }) }), f.label)))));

  const errorBox = h('div');
  const body = h('div', null, loading('Searching…'));
  const exportButton = h('button', { type: 'button', class: 'secondary', onclick: () => exportCsv() }, 'Export CSV');
  const replayButton = h('button', { type: 'button', class: 'secondary', disabled: query === '', title: query === '' ? 'Type a query first: replaying everything needs an explicit query such as success:false' : null, onclick: () => replayAll() }, 'Replay matches');

  main.append(pageHead('Delivery log', exportButton, replayButton), form, errorBox, body);
  if (focusSearch) {
    focusSearch = false;
    input.focus();
  }

  async function exportCsv() {
    exportButton.disabled = true;
    exportButton.textContent = 'Exporting…';
    try {
      const blob = await restBlob(`/rest/V1/async_events/search.csv?query=${encodeURIComponent(query)}`);
      const url = URL.createObjectURL(blob);
      const link = h('a', { href: url, download: 'async-events-log.csv', hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      showFlash('ok', `Exported ${blob.size.toLocaleString('en')} bytes of CSV for ${query ? `"${query}"` : 'every attempt'}.`);
    } catch (error) {
      showFlash('error', `CSV export failed: ${error.message}`);
    } finally {
      exportButton.disabled = false;
      exportButton.textContent = 'Export CSV';
    }
  }

  async function replayAll() {
    if (!confirm(`Replay every chain with an attempt matching "${query}"? Each starts a new chain under its UUID and is delivered again.`)) return;
    replayButton.disabled = true;
    try {
      const result = await rest('POST', '/rest/V1/async_events/replay', { query });
      const failed = result.failed ?? [];
      showFlash(failed.length ? 'warn' : 'ok', `Replayed ${result.count} chain${result.count === 1 ? '' : 's'}${failed.length ? `; ${failed.length} could not be replayed: ${failed.slice(0, 3).map((f) => `${f.uuid} (${f.message})`).join(', ')}${failed.length > 3 ? ', …' : ''}` : ''}.`);
    } catch (error) {
      if (typeof error.position === 'number') errorBox.replaceChildren(queryErrorView(state.q, error, shift));
      else showFlash('error', `Replay failed: ${error.message}`);
    } finally {
      replayButton.disabled = false;
    }
  }

  function pager(total) {
    const pages = Math.max(1, Math.ceil(total / state.size));
    const pageId = newId('page');
    const sizeId = newId('size');
    const pageInput = h('input', { id: pageId, type: 'number', min: 1, max: pages, value: String(state.page) });
    return h('nav', { class: 'pager', 'aria-label': 'Log pages' },
      h('span', { class: 'muted' }, `${total.toLocaleString('en')} attempt${total === 1 ? '' : 's'} · page ${state.page.toLocaleString('en')} of ${pages.toLocaleString('en')}`),
      h('div', { class: 'controls' },
        h('button', { type: 'button', class: 'secondary small', disabled: state.page <= 1, onclick: () => go({ page: 1 }) }, 'First'),
        h('button', { type: 'button', class: 'secondary small', disabled: state.page <= 1, onclick: () => go({ page: state.page - 1 }) }, 'Previous'),
        h('form', { class: 'controls', onsubmit: (e) => {
          e.preventDefault();
          const n = Math.min(pages, Math.max(1, Math.floor(Number(pageInput.value)) || 1));
          go({ page: n });
        } }, h('label', { for: pageId }, 'Page'), pageInput, h('button', { type: 'submit', class: 'secondary small' }, 'Go')),
        h('button', { type: 'button', class: 'secondary small', disabled: state.page >= pages, onclick: () => go({ page: state.page + 1 }) }, 'Next'),
        h('button', { type: 'button', class: 'secondary small', disabled: state.page >= pages, onclick: () => go({ page: pages }) }, 'Last'),
        h('label', { for: sizeId }, 'Rows'),
        h('select', { id: sizeId, value: String(state.size), onchange: (e) => go({ size: Number(e.target.value), page: 1 }) }, SIZES.map((s) => h('option', { value: String(s) }, String(s))))));
  }

  async function load() {
    const isCurrent = requests.next();
    const p = new URLSearchParams({ query, pageSize: String(state.size), currentPage: String(state.page) });
    try {
      const result = await rest('GET', `/rest/V1/async_events/logs?${p}`);
      if (!isCurrent()) return;
      const items = result.items ?? [];
      const total = result.total_count ?? items.length;
      replayButton.textContent = query && total > 0 ? `Replay matches (${total.toLocaleString('en')} attempt${total === 1 ? '' : 's'})` : 'Replay matches';
      if (total === 0) {
        body.replaceChildren(query
          ? emptyState('No attempt matches', `Nothing in the delivery log matches ${query}. Try a wider query, e.g. *.created, or clear the filter.`)
          : emptyState('The delivery log is empty', 'Attempts appear here once an event is delivered to a subscription.', h('a', { class: 'button secondary', href: '#/subscriptions' }, 'Subscriptions')));
        return;
      }
      if (items.length === 0) {
        body.replaceChildren(emptyState(`Page ${state.page} is past the end`, `${total} attempts match.`), pager(total));
        return;
      }
      body.replaceChildren(
        dataTable([
          { label: 'Log ID', num: true, cell: (r) => String(r.log_id) },
          { label: 'Time', class: 'nowrap', cell: (r) => formatTime(r.created) },
          { label: 'Event', cell: (r) => h('code', null, r.event_name) },
          { label: 'Result', cell: (r) => (r.success ? badge('ok', 'Success') : badge('bad', 'Failed')) },
          { label: 'Subscription', cell: (r) => h('span', null, h('a', { href: `#/subscriptions/${r.subscription_id}/edit` }, `#${r.subscription_id}`), ' ', h('span', { class: 'muted wrap-any' }, truncate(r.recipient_url, 48))) },
          { label: 'Response', class: 'truncate', cell: (r) => h('span', { title: truncate(r.response_data, 500) }, truncate(r.response_data, 100) || '—') },
          { label: 'Trace', cell: (r) => h('a', { href: `#/trace/${encodeURIComponent(r.uuid)}`, class: 'mono', 'aria-label': `Trace ${r.uuid}` }, r.uuid.slice(0, 8)) },
        ], items),
        pager(total));
    } catch (caught) {
      if (!isCurrent()) return;
      let error = caught;
      let errorShift = shift;
      if (error.status === 400 && state.filter !== 'all' && state.q.trim() !== '') {
        // Inside "(…) AND success:…" an unbalanced query is blamed on the parentheses we added; asking about the
        // user's text alone gives the position in what they typed.
        try {
          await rest('GET', `/rest/V1/async_events/logs?${new URLSearchParams({ query: state.q.trim(), pageSize: '1' })}`);
        } catch (own) {
          if (own.status === 400) {
            error = own;
            errorShift = effectiveQuery(state.q, 'all').shift;
          }
        }
        if (!isCurrent()) return;
      }
      if (error.status === 400 && (typeof error.position === 'number' || /query|position/i.test(error.message))) {
        errorBox.replaceChildren(queryErrorView(state.q, error, errorShift));
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', `${ids.hint} query-error`);
        const column = typeof error.position === 'number' ? error.position - errorShift : undefined;
        if (column !== undefined && column >= 1 && column <= state.q.length + 1) input.setSelectionRange(column - 1, Math.min(column, state.q.length));
        body.replaceChildren();
      } else {
        body.replaceChildren(errorState('The delivery log could not be searched', error, load));
      }
    }
  }

  load();
  return () => requests.cancel();
}
