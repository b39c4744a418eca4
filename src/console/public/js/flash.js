import { h } from './dom.js';

// One message that survives a route change ("Subscription 4 created."), shown in the polite status region.

let pending;

export function flash(kind, text) {
  pending = { kind, text };
}

export function showFlash(kind, text) {
  const region = document.getElementById('flash');
  region.replaceChildren(h('div', { class: `notice ${kind}` }, h('span', null, text),
    h('button', { type: 'button', class: 'secondary small', 'aria-label': 'Dismiss message', onclick: () => region.replaceChildren() }, 'Dismiss')));
}

/** Shows the message queued for this route change, or clears the last one. */
export function renderFlash() {
  const region = document.getElementById('flash');
  if (pending) {
    showFlash(pending.kind, pending.text);
    pending = undefined;
  } else {
    region.replaceChildren();
  }
}
