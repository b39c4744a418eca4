import { ApiError, rest, session } from './api.js';
import { h, newId } from './dom.js';

// Sign-in with the same bearer token the API takes (ASYNC_EVENTS_API_TOKEN or a Magento integration token).
// The token is checked with one cheap authenticated call before the console shows anything.

export function renderSignIn(main, { message, onSignedIn }) {
  const inputId = newId('token');
  const hintId = newId('token-hint');
  const errorId = newId('token-error');
  const error = h('div', { id: errorId, class: 'notice error', role: 'alert', hidden: !message }, message ?? '');
  const input = h('input', { id: inputId, name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': `${hintId} ${errorId}` });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'panel', novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (token === '') {
      showError('Enter a token: the ASYNC_EVENTS_API_TOKEN of this sidecar or a Magento integration access token.');
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Checking…';
    session.set(token);
    try {
      await rest('GET', '/rest/V1/async_events/sinks');
      onSignedIn();
    } catch (e) {
      session.clear();
      if (e instanceof ApiError && e.status === 401) showError('This token was refused: it is neither the sidecar\'s API token nor an active integration token allowed MageOS_AsyncEvents::manage.');
      else if (e instanceof ApiError && e.status === 403) showError(`This token is valid but not allowed to manage async events: ${e.message}`);
      else showError(e instanceof Error ? e.message : String(e));
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  } },
  h('div', { class: 'field' },
    h('label', { for: inputId }, 'API token'),
    input,
    h('p', { id: hintId, class: 'hint' }, 'The ASYNC_EVENTS_API_TOKEN printed at first start, or a Magento integration access token with the MageOS_AsyncEvents::manage resource. It is kept in this tab only and sent as "Authorization: Bearer".')),
  error,
  h('div', { class: 'row' }, submit));

  function showError(text) {
    error.textContent = text;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }

  document.title = 'Sign in · async-events';
  main.replaceChildren(h('section', { class: 'signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to async-events'),
    h('p', { class: 'muted' }, 'The console of the sidecar that delivers Magento async events.'),
    form));
  input.focus();
}
