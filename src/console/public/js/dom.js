// Tiny DOM helpers. Text always goes in as text nodes, never as HTML, so API data cannot inject markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

function appendChildren(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** h('button', { class: 'x', onclick: fn, disabled: true }, 'text', child) */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [key, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (key === 'class') el.className = v;
    else if (key === 'value') value = v;
    else if (key === 'dataset') Object.assign(el.dataset, v);
    else if (key.startsWith('on') && typeof v === 'function') el.addEventListener(key.slice(2), v);
    else if (typeof v === 'boolean' && key in el) el[key] = v;
    else el.setAttribute(key, v === true ? '' : String(v));
  }
  appendChildren(el, children);
  // After the children, so a <select> already has the option to select.
  if (value !== undefined) el.value = value;
  return el;
}

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    el.setAttribute(key, String(v));
  }
  appendChildren(el, children);
  return el;
}

let uid = 0;
/** A unique id for label/aria wiring. */
export function newId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

export function loading(text = 'Loading…') {
  return h('p', { class: 'muted', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', text);
}

export function errorState(title, error, retry) {
  return h('div', { class: 'notice error', role: 'alert' },
    h('h2', null, title),
    h('p', null, error instanceof Error ? error.message : String(error)),
    retry ? h('button', { type: 'button', class: 'secondary small', onclick: retry }, 'Try again') : null);
}

export function emptyState(title, text, ...actions) {
  return h('div', { class: 'empty' }, h('strong', null, title), text ? h('p', null, text) : null, actions.length ? h('div', { class: 'row' }, ...actions) : null);
}

export function badge(kind, text) {
  return h('span', { class: `badge ${kind}` }, text);
}

/** A table that becomes labelled cards on narrow screens: every cell carries its column name. */
export function dataTable(columns, rows, caption) {
  const table = h('table', { class: 'cards' },
    caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
    h('tbody', null, rows.map((row) => tableRow(columns, row))));
  return h('div', { class: 'table-wrap' }, table);
}

export function tableRow(columns, row) {
  return h('tr', null, columns.map((c) => h('td', { 'data-label': c.label, class: [c.num ? 'num' : '', c.class ?? ''].join(' ').trim() || null }, c.cell(row))));
}
