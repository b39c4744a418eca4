import { rest } from '../api.js';
import { dataTable, emptyState, errorState, h, loading } from '../dom.js';
import { showFlash } from '../flash.js';
import { formatTime, truncate } from '../format.js';
import { latestOnly, pageHead } from './common.js';

// Parked messages: REST GET /V1/async_events/parked (newest first, with the reason each could not be handled) and
// POST /V1/async_events/parked/redrive, {"ids":[id]} per message or {} for all. A redriven message leaves the list;
// one that fails again comes back under a new id.

const LIMIT = 500;

function plural(n, word) {
  return `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;
}

/** What the redrive answer means, in one sentence. */
export function redriveSummary(result) {
  const parts = [`Redriven: ${plural(result.redriven, 'message')}${result.ids.length ? ` (${result.ids.map((id) => `#${id}`).join(', ')})` : ''}.`];
  if (result.unknown.length) parts.push(`Not parked any more: ${result.unknown.map((id) => `#${id}`).join(', ')}.`);
  if (result.failed.length) parts.push(`Not redriven: ${result.failed.map((f) => `#${f.id} (${f.message})`).join('; ')}.`);
  return parts.join(' ');
}

export function parkedPage(main) {
  const requests = latestOnly();
  const body = h('div', null, loading('Loading parked messages…'));
  const allButton = h('button', { type: 'button', class: 'secondary', disabled: true, onclick: () => redrive({}, allButton) }, 'Redrive all');
  const intro = h('p', { class: 'muted' },
    'Queue messages that could not be handled, with the reason. Redrive puts a message back on its queue unchanged, once the cause is fixed; if it fails again it is parked again.');
  main.append(pageHead('Parked messages', allButton), intro, body);

  async function redrive(selection, button) {
    if (!selection.ids && !confirm('Put every parked message back on its queue?')) return;
    button.disabled = true;
    try {
      const result = await rest('POST', '/rest/V1/async_events/parked/redrive', selection);
      showFlash(result.failed.length || result.unknown.length ? 'warn' : 'ok', redriveSummary(result));
    } catch (error) {
      showFlash('error', `Redrive failed: ${error.message}`);
    }
    await load();
  }

  async function load() {
    const isCurrent = requests.next();
    try {
      const result = await rest('GET', `/rest/V1/async_events/parked?limit=${LIMIT}`);
      if (!isCurrent()) return;
      const items = result.items ?? [];
      const total = result.total_count ?? items.length;
      allButton.disabled = total === 0;
      allButton.textContent = total > 0 ? `Redrive all (${total.toLocaleString('en')})` : 'Redrive all';
      if (total === 0) {
        body.replaceChildren(emptyState('Nothing is parked', 'Messages that cannot be handled (malformed, unknown event, refused by Magento) appear here with the reason.'));
        return;
      }
      // replaceChildren would write a null out as text, so the optional notice goes in through h().
      body.replaceChildren(h('div', { class: 'stack' },
        total > items.length ? h('p', { class: 'notice info' }, `Showing the newest ${items.length.toLocaleString('en')} of ${plural(total, 'parked message')}; Redrive all takes every one.`) : null,
        dataTable([
          { label: 'ID', num: true, cell: (m) => String(m.id) },
          { label: 'Parked at', class: 'nowrap', cell: (m) => formatTime(m.created) },
          { label: 'Queue', cell: (m) => h('code', null, m.queue) },
          { label: 'Reason', class: 'wrap-any', cell: (m) => m.reason },
          { label: 'Message', class: 'truncate', cell: (m) => h('code', { title: truncate(m.body, 1000) }, truncate(m.body, 80)) },
          { label: 'Action', cell: (m) => {
            const button = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Redrive message ${m.id}` }, 'Redrive');
            button.addEventListener('click', () => redrive({ ids: [m.id] }, button));
            return button;
          } },
        ], items, 'Parked messages')));
    } catch (error) {
      if (!isCurrent()) return;
      body.replaceChildren(errorState('The parked messages could not be loaded', error, load));
    }
  }

  load();
  return () => requests.cancel();
}
