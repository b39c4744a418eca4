import { rest } from '../api.js';
import { h, newId } from '../dom.js';
import { showFlash } from '../flash.js';

// "Send a test event": POST /rest/V1/async_events/publish { event_name, arguments, store_id }, published exactly as
// the PHP publisher would, so it goes through the queue, the Magento callback and every subscription of the event.

function jsonError(text) {
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'Arguments must be a JSON object, e.g. {"id": 42}.';
    return null;
  } catch (error) {
    return `Arguments are not valid JSON: ${error.message}`;
  }
}

export function openPublishDialog({ events, eventName, storeId = 0 }) {
  const ids = { event: newId('pub-event'), args: newId('pub-args'), store: newId('pub-store'), error: newId('pub-error'), hint: newId('pub-hint'), title: newId('pub-title') };
  const error = h('div', { id: ids.error, class: 'notice error', role: 'alert', hidden: true });
  const eventField = events?.length
    ? h('select', { id: ids.event, name: 'event_name', required: true, value: eventName ?? events[0] }, events.map((n) => h('option', { value: n }, n)))
    : h('input', { id: ids.event, name: 'event_name', type: 'text', required: true, value: eventName ?? '', spellcheck: 'false' });
  const args = h('textarea', { id: ids.args, name: 'arguments', rows: 5, spellcheck: 'false', 'aria-describedby': `${ids.hint} ${ids.error}` });
  args.value = '{\n  "id": 1\n}';
  const store = h('input', { id: ids.store, name: 'store_id', type: 'number', min: 0, max: 65535, step: 1, value: String(storeId) });
  const send = h('button', { type: 'submit' }, 'Publish');
  const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => dialog.close() }, 'Cancel');
  const form = h('form', { method: 'dialog', novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const problem = jsonError(args.value);
    const name = eventField.value.trim();
    if (!name) return fail('Choose the event to publish.', eventField);
    if (problem) return fail(problem, args);
    send.disabled = true;
    try {
      const result = await rest('POST', '/rest/V1/async_events/publish', { event_name: name, arguments: JSON.parse(args.value), store_id: Number(store.value || 0) });
      dialog.close();
      showFlash('ok', `Published ${result.event_name} for store ${result.store_id}. Its deliveries appear in the delivery log and the live feed.`);
    } catch (e) {
      fail(e.message, e.field === 'store_id' ? store : e.field === 'event_name' ? eventField : args);
    } finally {
      send.disabled = false;
    }
  } },
  h('h2', { id: ids.title }, 'Send a test event'),
  h('p', { class: 'muted small' }, 'Publishes a trigger message as the Magento observer would; every active subscription of the event receives it.'),
  h('div', { class: 'field' }, h('label', { for: ids.event }, 'Event'), eventField),
  h('div', { class: 'field' }, h('label', { for: ids.args }, 'Service arguments (JSON object)'), args,
    h('p', { id: ids.hint, class: 'hint' }, 'The named arguments of the event\'s service method, e.g. {"id": 42} for OrderRepositoryInterface::get.')),
  h('div', { class: 'field' }, h('label', { for: ids.store }, 'Store ID'), store),
  error,
  h('div', { class: 'dialog-actions' }, cancel, send));

  function fail(message, field) {
    error.textContent = message;
    error.hidden = false;
    for (const f of [eventField, args, store]) f.removeAttribute('aria-invalid');
    field?.setAttribute('aria-invalid', 'true');
    field?.focus();
  }

  const dialog = h('dialog', { 'aria-labelledby': ids.title }, form);
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  args.focus();
  return dialog;
}
