import { graphql, rest } from '../api.js';
import { errorState, h, loading, newId } from '../dom.js';
import { flash } from '../flash.js';
import { loadCatalog } from './catalog.js';
import { pageHead } from './common.js';
import { healthPanel, loadHealth } from './subscription-health.js';

// Create (POST /V1/async_event) and edit (PUT /V1/async_event/:id). The verification token is write-only: the
// API never returns it, so editing shows an empty field that keeps the current token when left empty.
// The rules (event pattern, filter, fields, headers, max per second) are checked by the server only: its field
// errors land inline on the field they name, with the filter's or selection's position in the message.

/** `Name: value` lines as a header object; a line without a colon is reported by its number. */
function parseHeaderLines(text) {
  const headers = {};
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return { error: `Line ${index + 1}: write each header as Name: value.` };
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return { headers };
}

function headerLines(headers) {
  return Object.entries(headers ?? {}).map(([name, value]) => `${name}: ${value}`).join('\n');
}

/** The rules part of the request: a filled field sets its rule; one emptied while editing removes it (null). */
function rulesRequest(values, current) {
  const rules = {};
  for (const [key, value] of Object.entries(values)) {
    const empty = value === '' || value === undefined || (typeof value === 'object' && value !== null && Object.keys(value).length === 0);
    if (!empty) rules[key] = value;
    else if (current && current[key] !== undefined) rules[key] = null;
  }
  return rules;
}

function randomToken() {
  const bytes = new Uint8Array(24);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function field(id, label, control, hint) {
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  control.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  return h('div', { class: 'field', dataset: { field: control.name } },
    h('label', { for: id }, label), control,
    hint ? h('p', { id: hintId, class: 'hint' }, hint) : null,
    h('p', { id: errorId, class: 'error-text', hidden: true }));
}

export function subscriptionFormPage(main, { args, navigate }) {
  const id = args[0] ? Number(args[0]) : null;
  const editing = id !== null;
  const body = h('div', null, loading());
  main.append(pageHead(editing ? `Edit subscription ${id}` : 'New subscription',
    h('a', { class: 'button secondary', href: '#/subscriptions' }, 'Back to subscriptions')), body);
  let alive = true;

  (async () => {
    let catalog;
    let current;
    let currentSink = null;
    try {
      [catalog, current] = await Promise.all([loadCatalog(), editing ? rest('GET', `/rest/V1/async_event/${id}`) : Promise.resolve(null)]);
      if (editing) {
        try {
          currentSink = (await graphql(`{ subscription(id: "${id}") { sink } }`)).subscription?.sink ?? null;
        } catch {
          currentSink = null;
        }
      }
    } catch (error) {
      if (alive) body.replaceChildren(errorState(editing ? `Subscription ${id} could not be loaded` : 'The form could not be prepared', error));
      return;
    }
    if (!alive) return;
    body.replaceChildren(buildForm(catalog, current, currentSink));
    if (editing) {
      // The health panel is extra: the form stays usable when it cannot be read.
      const health = await loadHealth(id).catch(() => null);
      if (alive && health) body.append(healthPanel(health));
    }
  })();

  function buildForm(catalog, current, currentSink) {
    const ids = { event: newId('event'), pattern: newId('pattern'), url: newId('url'), sink: newId('sink'), store: newId('store'), token: newId('token'), status: newId('status'),
      filter: newId('filter'), fields: newId('fields'), headers: newId('headers'), rate: newId('rate'), ordering: newId('ordering') };
    const events = catalog.events;
    const eventControl = events
      ? h('select', { id: ids.event, name: 'event_name', required: true, disabled: editing, value: current?.event_name ?? '' },
        editing ? null : h('option', { value: '' }, 'Choose an event…'),
        (editing && !events.includes(current.event_name) ? [current.event_name, ...events] : events).map((n) => h('option', { value: n }, n)))
      : h('input', { id: ids.event, name: 'event_name', type: 'text', required: true, disabled: editing, spellcheck: 'false', value: current?.event_name ?? '' });
    const urlControl = h('input', { id: ids.url, name: 'recipient_url', type: 'text', inputmode: 'url', required: true, spellcheck: 'false', autocomplete: 'off', placeholder: 'https://example.com/webhooks/magento', value: current?.recipient_url ?? '' });
    const sinks = catalog.sinks ?? [];
    const sinkValue = currentSink ?? (sinks.some((s) => s.key === 'http') ? 'http' : sinks[0]?.key ?? '');
    const sinkControl = h('select', { id: ids.sink, name: 'metadata', required: true, value: sinkValue },
      // Only usable sinks are offered; a subscription's current sink stays selectable even when it is not.
      (currentSink && !sinks.some((s) => s.key === currentSink) ? [{ key: currentSink, usable: false, reason: 'unknown to this sidecar' }, ...sinks] : sinks)
        .filter((s) => s.usable || s.key === currentSink)
        .map((s) => h('option', { value: s.key }, s.usable ? s.key : `${s.key} (not usable now${s.reason ? `: ${s.reason}` : ''})`)));
    const initialSink = sinkControl.value;
    const storeControl = h('input', { id: ids.store, name: 'store_id', type: 'number', min: 0, max: 65535, step: 1, required: true, value: String(current?.store_id ?? 0) });
    const tokenControl = h('input', { id: ids.token, name: 'verification_token', type: 'password', autocomplete: 'new-password', spellcheck: 'false', required: !editing, maxlength: 128,
      placeholder: editing ? 'Empty keeps the current token' : '' });
    const showToken = h('input', { type: 'checkbox', id: newId('show'), onchange: () => { tokenControl.type = showToken.checked ? 'text' : 'password'; } });
    const statusControl = h('input', { id: ids.status, name: 'status', type: 'checkbox', checked: current ? current.status : true });
    const patternControl = h('input', { id: ids.pattern, name: 'event_pattern', type: 'text', spellcheck: 'false', autocomplete: 'off', placeholder: 'sales.order.*' });
    const filterControl = h('input', { id: ids.filter, name: 'filter', type: 'text', spellcheck: 'false', autocomplete: 'off', placeholder: 'data.status: processing AND data.grand_total:>100', value: current?.filter ?? '' });
    const fieldsControl = h('input', { id: ids.fields, name: 'fields', type: 'text', spellcheck: 'false', autocomplete: 'off', placeholder: 'entity_id,increment_id,items[sku,qty_ordered]', value: current?.fields ?? '' });
    const headersControl = h('textarea', { id: ids.headers, name: 'headers', rows: 3, spellcheck: 'false', placeholder: 'X-Api-Key: …' });
    headersControl.value = headerLines(current?.headers);
    const rateControl = h('input', { id: ids.rate, name: 'max_per_second', type: 'number', min: 0, step: 'any', value: current?.max_per_second === undefined ? '' : String(current.max_per_second) });
    // Fixed once created (the server refuses a change): shown, not editable, when editing.
    const orderingControl = h('select', { id: ids.ordering, name: 'ordering', disabled: editing, value: current?.ordering ?? '' },
      h('option', { value: '' }, 'None: events may arrive in any order'),
      h('option', { value: 'entity' }, 'By entity: one order\'s (product\'s…) events in publish order'));
    const summary = h('div', { class: 'notice error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit' }, editing ? 'Save changes' : 'Create subscription');
    const controls = { event_name: eventControl, recipient_url: urlControl, metadata: sinkControl, store_id: storeControl, verification_token: tokenControl, status: statusControl,
      event_pattern: patternControl, filter: filterControl, fields: fieldsControl, headers: headersControl, max_per_second: rateControl, ordering: orderingControl };
    const usesPattern = () => !editing && patternControl.value.trim() !== '';

    function clearErrors() {
      summary.hidden = true;
      for (const c of Object.values(controls)) {
        c.removeAttribute('aria-invalid');
        const err = document.getElementById(`${c.id}-error`);
        if (err) err.hidden = true;
      }
    }

    function showErrors(list) {
      summary.replaceChildren(h('strong', null, list.length > 1 ? 'Fix these fields:' : 'Fix this:'), h('ul', null, list.map((e) => h('li', null, e.message))));
      summary.hidden = false;
      let first;
      for (const e of list) {
        let name = e.field?.replace(/^asyncEvent\./, '');
        // The event's errors belong to the pattern field when the pattern is what was sent.
        if (name === 'event_name' && usesPattern()) name = 'event_pattern';
        const control = name ? controls[name] : undefined;
        if (!control) continue;
        control.setAttribute('aria-invalid', 'true');
        const err = document.getElementById(`${control.id}-error`);
        if (err) {
          err.textContent = e.message;
          err.hidden = false;
        }
        first ??= control;
      }
      (first ?? summary).focus?.();
      if (!first) summary.scrollIntoView({ block: 'nearest' });
    }

    const form = h('form', { class: 'panel form-narrow', novalidate: true, onsubmit: async (event) => {
      event.preventDefault();
      clearErrors();
      const problems = [];
      if (!editing && !eventControl.value.trim() && !usesPattern()) problems.push({ field: 'event_name', message: 'Choose the event to subscribe to.' });
      const parsedHeaders = parseHeaderLines(headersControl.value);
      if (parsedHeaders.error) problems.push({ field: 'headers', message: parsedHeaders.error });
      if (!urlControl.value.trim()) problems.push({ field: 'recipient_url', message: 'Enter the recipient: a webhook URL for http, an event bus ARN for eventbridge.' });
      if (!editing && !tokenControl.value) problems.push({ field: 'verification_token', message: 'Enter a verification token (or press Generate): deliveries are signed with it.' });
      if (!/^\d{1,5}$/.test(storeControl.value)) problems.push({ field: 'store_id', message: 'Store ID must be a whole number from 0 (all stores) to 65535.' });
      if (problems.length) return showErrors(problems);
      const asyncEvent = {
        recipient_url: urlControl.value.trim(),
        store_id: Number(storeControl.value),
        status: statusControl.checked,
      };
      // When the current sink could not be read, only a sink the user picked is sent, never the default guess.
      if (!editing || currentSink !== null || sinkControl.value !== initialSink) asyncEvent.metadata = sinkControl.value;
      if (!editing) asyncEvent.event_name = usesPattern() ? patternControl.value.trim() : eventControl.value.trim();
      if (tokenControl.value) asyncEvent.verification_token = tokenControl.value;
      // The rate is sent as typed (a string when it is not a number), so the server's rule judges it.
      const rate = rateControl.value.trim() === '' ? '' : (Number.isFinite(Number(rateControl.value)) ? Number(rateControl.value) : rateControl.value);
      Object.assign(asyncEvent, rulesRequest({ filter: filterControl.value.trim(), fields: fieldsControl.value.trim(), headers: parsedHeaders.headers ?? {}, max_per_second: rate }, current));
      if (!editing && orderingControl.value) asyncEvent.ordering = orderingControl.value;
      submit.disabled = true;
      try {
        const saved = editing
          ? await rest('PUT', `/rest/V1/async_event/${id}`, { asyncEvent })
          : await rest('POST', '/rest/V1/async_event', { asyncEvent });
        tokenControl.value = '';
        flash('ok', editing ? `Subscription ${saved.subscription_id} saved.` : `Subscription ${saved.subscription_id} created for ${saved.event_name}.`);
        navigate('#/subscriptions');
      } catch (error) {
        showErrors(error.errors?.length ? error.errors : [{ field: error.field, message: error.message }]);
      } finally {
        submit.disabled = false;
      }
    } },
    summary,
    field(ids.event, 'Event', eventControl, editing ? 'The event of a subscription cannot change; create a new subscription for another event.' : events ? 'Events declared in the enabled modules\' etc/async_events.xml.' : 'The event list is unavailable (GraphQL did not answer); type the event name.'),
    editing ? null : field(ids.pattern, 'Event pattern', patternControl, 'Instead of one event: a pattern such as sales.order.* or *.created, matching every declared event it covers, now and later.'),
    field(ids.url, 'Recipient', urlControl, 'http: an absolute http(s) URL. eventbridge: the event bus name or ARN.'),
    field(ids.sink, 'Sink', sinkControl, 'How events reach the recipient (the subscription\'s metadata).'),
    field(ids.store, 'Store ID', storeControl, '0 receives the event of every store.'),
    h('div', { class: 'field', dataset: { field: 'verification_token' } },
      h('label', { for: ids.token }, 'Verification token'),
      h('div', { class: 'input-row' }, tokenControl, h('button', { type: 'button', class: 'secondary', onclick: () => { tokenControl.value = randomToken(); showToken.checked = true; tokenControl.type = 'text'; tokenControl.focus(); } }, 'Generate')),
      h('label', { class: 'check', for: showToken.id }, showToken, 'Show the token while typing'),
      h('p', { id: `${ids.token}-hint`, class: 'hint' }, editing
        ? 'Write-only: the current token is never shown. Type a new one to replace it; the old one keeps signing beside it for a grace period, 24 hours by default (Stores › Configuration › Advanced › System › Async Events › Token Rotation Grace Period).'
        : 'Signs every delivery (x-magento-signature, webhook-signature). Copy it to the receiver now: it is never shown again.'),
      h('p', { id: `${ids.token}-error`, class: 'error-text', hidden: true })),
    h('div', { class: 'field' }, h('label', { class: 'check', for: ids.status }, statusControl, 'Enabled (deliver events to this recipient)')),
    h('fieldset', { class: 'rules' }, h('legend', null, 'Rules (optional)'),
      field(ids.filter, 'Filter', filterControl, 'A search query over Magento\'s data (data.*), event_name and store_id; events it does not match are not delivered. A replay ignores it.'),
      field(ids.fields, 'Fields', fieldsControl, 'Magento REST fields selection: only these parts of the data are delivered.'),
      field(ids.headers, 'Extra headers', headersControl, 'http sink only. One Name: value per line; the signature, content and connection headers are the sidecar\'s.'),
      field(ids.rate, 'Max per second', rateControl, 'Deliveries beyond this rate wait for their turn; they never fail for it. Empty: no limit.'),
      field(ids.ordering, 'Ordering', orderingControl, editing
        ? 'Fixed when the subscription was created; create a new subscription to change it.'
        : 'By entity: events with the same service arguments (the same order id) are delivered in the order Magento published them; a failing one holds back the later ones of its entity until it is delivered or dead. Other entities flow. Cannot be changed later.')),
    h('div', { class: 'row' }, submit, h('a', { class: 'button secondary', href: '#/subscriptions' }, 'Cancel')));
    tokenControl.setAttribute('aria-describedby', `${ids.token}-hint ${ids.token}-error`);
    summary.setAttribute('tabindex', '-1');
    return form;
  }

  return () => {
    alive = false;
  };
}
