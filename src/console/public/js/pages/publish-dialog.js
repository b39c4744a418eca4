import { rest } from '../api.js';
import { h, newId } from '../dom.js';
import { showFlash } from '../flash.js';

// "Send a test event": POST /rest/V1/async_events/publish { event_name, arguments, store_id }, published exactly as
// the PHP publisher would, so it goes through the queue, the Magento callback and every subscription of the event.
// The arguments start as the event's real service arguments (GraphQL `events { arguments }`, the path parameters
// of its REST route), with 1 for id-like ones, until the user edits them.

const ID_LIKE = /(^id|Id|_id|ID)$/;

/** JSON text of sample arguments for the given names; `{}` when there are none or they are unknown (null). */
export function sampleArguments(names) {
  if (!names?.length) return '{}';
  return JSON.stringify(Object.fromEntries(names.map((name) => [name, ID_LIKE.test(name) ? 1 : ''])), null, 2);
}

function argumentsHint(names) {
  if (names === undefined) return 'The named arguments of the event\'s service method, e.g. {"id": 42} for OrderRepositoryInterface::get.';
  if (names === null) return 'No REST route names this service\'s arguments: give its PHP parameter names, e.g. {"customerId": 42}.';
  if (names.length === 0) return 'Its REST route takes no path parameters; add any other named arguments of the service method.';
  return `Pre-filled with the parameters of its REST route (${names.join(', ')}); set their values.`;
}

function jsonError(text) {
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'Arguments must be a JSON object, e.g. {"id": 42}.';
    return null;
  } catch (error) {
    return `Arguments are not valid JSON: ${error.message}`;
  }
}

export function openPublishDialog({ events, argumentsOf = new Map(), eventName, storeId = 0 }) {
  const ids = { event: newId('pub-event'), args: newId('pub-args'), store: newId('pub-store'), error: newId('pub-error'), hint: newId('pub-hint'), title: newId('pub-title') };
  const error = h('div', { id: ids.error, class: 'notice error', role: 'alert', hidden: true });
  const eventField = events?.length
    ? h('select', { id: ids.event, name: 'event_name', required: true, value: eventName ?? events[0] }, events.map((n) => h('option', { value: n }, n)))
    : h('input', { id: ids.event, name: 'event_name', type: 'text', required: true, value: eventName ?? '', spellcheck: 'false' });
  const args = h('textarea', { id: ids.args, name: 'arguments', rows: 5, spellcheck: 'false', 'aria-describedby': `${ids.hint} ${ids.error}` });
  const hint = h('p', { id: ids.hint, class: 'hint' });
  // Known event names get their own arguments; a typed name (no catalog) keeps the old example.
  let edited = false;
  const prefill = () => {
    if (edited) return;
    const name = eventField.value.trim();
    const names = argumentsOf.has(name) ? argumentsOf.get(name) : undefined;
    args.value = names === undefined ? '{\n  "id": 1\n}' : sampleArguments(names);
    hint.textContent = argumentsHint(names);
  };
  args.addEventListener('input', () => (edited = true));
  eventField.addEventListener('change', prefill);
  prefill();
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
  h('div', { class: 'field' }, h('label', { for: ids.args }, 'Service arguments (JSON object)'), args, hint),
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
