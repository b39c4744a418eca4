import { onUnauthorized, session } from './api.js';
import { errorState } from './dom.js';
import { renderFlash } from './flash.js';
import { renderSignIn } from './signin.js';
import { overviewPage } from './pages/overview.js';
import { subscriptionsPage } from './pages/subscriptions.js';
import { subscriptionFormPage } from './pages/subscription-form.js';
import { logPage } from './pages/log.js';
import { tracePage } from './pages/trace.js';
import { livePage } from './pages/live.js';
import { parkedPage } from './pages/parked.js';

// Hash routes: #/overview, #/subscriptions, #/subscriptions/new, #/subscriptions/7/edit, #/log?q=…, #/trace/<uuid>,
// #/live, #/parked. A page is a function (main, ctx) that renders into <main> and may return a cleanup function.

const ROUTES = [
  { pattern: /^\/?$/, nav: 'overview', page: overviewPage },
  { pattern: /^\/overview$/, nav: 'overview', page: overviewPage },
  { pattern: /^\/subscriptions$/, nav: 'subscriptions', page: subscriptionsPage },
  { pattern: /^\/subscriptions\/new$/, nav: 'subscriptions', page: subscriptionFormPage },
  { pattern: /^\/subscriptions\/(\d+)\/edit$/, nav: 'subscriptions', page: subscriptionFormPage },
  { pattern: /^\/log$/, nav: 'log', page: logPage },
  { pattern: /^\/trace\/([^/]+)$/, nav: 'log', page: tracePage },
  { pattern: /^\/live$/, nav: 'live', page: livePage },
  { pattern: /^\/parked$/, nav: 'parked', page: parkedPage },
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const signOut = document.getElementById('sign-out');
let cleanup;
let signInMessage;
let showingSignIn = false;

function parseHash() {
  const raw = location.hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = decodeURI(q < 0 ? raw : raw.slice(0, q));
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  return { path, params };
}

/** Changes the hash; with `replace` the previous entry is replaced so Back skips it. */
export function navigate(hash, { replace = false } = {}) {
  if (replace) {
    history.replaceState(null, '', hash);
    render();
  } else if (location.hash === hash) {
    render();
  } else {
    location.hash = hash;
  }
}

function setSignedIn(signedIn) {
  nav.hidden = !signedIn;
  signOut.hidden = !signedIn;
}

function stopPage() {
  if (typeof cleanup === 'function') {
    try {
      cleanup();
    } catch {
      // a page that fails to clean up must not break navigation
    }
  }
  cleanup = undefined;
}

function render() {
  stopPage();
  if (!session.token) {
    showingSignIn = true;
    setSignedIn(false);
    document.getElementById('flash').replaceChildren();
    const message = signInMessage;
    signInMessage = undefined;
    renderSignIn(main, { message, onSignedIn: () => render() });
    return;
  }
  showingSignIn = false;
  setSignedIn(true);
  const { path, params } = parseHash();
  const route = ROUTES.find((r) => r.pattern.test(path));
  for (const link of nav.querySelectorAll('a')) {
    if (route && link.dataset.route === route.nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  renderFlash();
  main.replaceChildren();
  if (!route) {
    document.title = 'Not found · async-events';
    main.append(errorState('No such page', `The console has no page at "#${path}". Use the menu above.`));
    return;
  }
  const match = route.pattern.exec(path);
  const ctx = { params, args: match.slice(1), navigate };
  try {
    // Pages render their heading at once and load data on their own, so the cleanup is known right away.
    cleanup = route.page(main, ctx);
  } catch (error) {
    main.replaceChildren(errorState('This page failed to load', error));
  }
  // Move focus to the page heading so keyboard and screen-reader users land on the new page.
  const heading = main.querySelector('h1');
  if (heading && !main.contains(document.activeElement)) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

onUnauthorized((message) => {
  // Several calls of one page may be refused at once; the first message is the one shown.
  if (showingSignIn) return;
  showingSignIn = true;
  signInMessage = message;
  session.clear();
  // Defer: the failing call may be in the middle of rendering a page.
  queueMicrotask(() => render());
});

signOut.addEventListener('click', () => {
  session.clear();
  signInMessage = undefined;
  history.replaceState(null, '', '#/overview');
  render();
});

window.addEventListener('hashchange', () => render());
render();
