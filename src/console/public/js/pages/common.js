import { h } from '../dom.js';

export function pageHead(title, ...actions) {
  document.title = `${title} · async-events`;
  return h('div', { class: 'page-head' }, h('h1', null, title), actions.length ? h('div', { class: 'actions' }, ...actions) : null);
}

/** Runs `load` and keeps only the newest answer, so a slow old request never overwrites a newer one. */
export function latestOnly() {
  let generation = 0;
  return {
    next() {
      generation += 1;
      const mine = generation;
      return () => mine === generation;
    },
    cancel() {
      generation += 1;
    },
  };
}
