// Every call to the sidecar: REST under /rest/V1, GraphQL at /graphql, both with `Authorization: Bearer <token>`.
// The token lives in sessionStorage only (gone when the tab closes); a 401 anywhere signs the console out.

const TOKEN_KEY = 'async-events.token';

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

export class ApiError extends Error {
  constructor(message, details = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = details.status ?? 0;
    this.code = details.code;
    /** 1-based column of a Lucene syntax error, when the API gave one. */
    this.position = details.position;
    /** Field named by a validation error, e.g. asyncEvent.recipient_url. */
    this.field = details.field;
    /** Every field error when the API listed several. */
    this.errors = details.errors ?? [];
  }
}

let unauthorizedHandler = () => {};
/** Called with a message when the API refuses the token; the app shows the sign-in form. */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

/** Magento's Phrase placeholders: %1, %2 (positional) and %name (named). */
export function renderMessage(template, parameters) {
  if (!parameters || typeof template !== 'string') return String(template ?? '');
  return template.replace(/%(\d+|[A-Za-z_][A-Za-z0-9_]*)/g, (whole, key) => {
    const value = Array.isArray(parameters) ? (/^\d+$/.test(key) ? parameters[Number(key) - 1] : undefined) : parameters[key];
    if (value === undefined) return whole;
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

function positionOf(parameters, message) {
  const fromParams = parameters && !Array.isArray(parameters) ? parameters.position : undefined;
  if (typeof fromParams === 'number') return fromParams;
  if (typeof fromParams === 'string' && /^\d+$/.test(fromParams)) return Number(fromParams);
  const match = /\bat position (\d+)/.exec(message);
  return match ? Number(match[1]) : undefined;
}

async function readJson(response) {
  const text = await response.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function errorFromBody(status, body, fallback) {
  if (body && typeof body === 'object' && typeof body.message === 'string') {
    const message = renderMessage(body.message, body.parameters);
    const parameters = body.parameters && !Array.isArray(body.parameters) ? body.parameters : {};
    const errors = Array.isArray(body.errors)
      ? body.errors.map((e) => ({ message: renderMessage(e.message, e.parameters), field: e.parameters?.fieldName }))
      : [];
    return new ApiError(message, { status, position: positionOf(body.parameters, message), field: parameters.fieldName, errors });
  }
  if (body && typeof body === 'object' && Array.isArray(body.errors) && body.errors[0]) {
    const first = body.errors[0];
    return new ApiError(first.message, { status, code: first.extensions?.code, position: first.extensions?.position, field: first.extensions?.field });
  }
  return new ApiError(typeof body === 'string' && body.trim() !== '' ? body.slice(0, 300) : fallback, { status });
}

async function authorizedFetch(url, init = {}) {
  const token = session.token;
  if (!token) {
    unauthorizedHandler('Sign in to continue.');
    throw new ApiError('Not signed in.', { status: 401 });
  }
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  let response;
  try {
    response = await fetch(url, { ...init, headers });
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError('The sidecar did not answer. Check that async-events is running and reachable, then try again.', { status: 0 });
  }
  if (response.status === 401) {
    const error = errorFromBody(401, await readJson(response), 'The token was refused.');
    session.clear();
    unauthorizedHandler(`The sidecar refused the token (${error.message}). Sign in again.`);
    throw error;
  }
  return response;
}

/** JSON REST call; throws ApiError with Magento's message rendered. */
export async function rest(method, path, body, init = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await authorizedFetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: init.signal });
  const data = await readJson(response);
  if (!response.ok) throw errorFromBody(response.status, data, `${method} ${path} failed with HTTP ${response.status}.`);
  return data;
}

/** A file download that needs the bearer header (so a plain link cannot do it). */
export async function restBlob(path) {
  const response = await authorizedFetch(path, { headers: { accept: 'text/csv, */*' } });
  if (!response.ok) throw errorFromBody(response.status, await readJson(response), `Download failed with HTTP ${response.status}.`);
  return response.blob();
}

/** A GraphQL query or mutation; throws the first error with its extensions (code, position, field). */
export async function graphql(query, variables = {}, init = {}) {
  const response = await authorizedFetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query, variables }),
    signal: init.signal,
  });
  const data = await readJson(response);
  if (data && typeof data === 'object' && Array.isArray(data.errors) && data.errors.length > 0) {
    throw errorFromBody(response.status, { errors: data.errors }, 'GraphQL request failed.');
  }
  if (!response.ok) throw errorFromBody(response.status, data, `GraphQL request failed with HTTP ${response.status}.`);
  return data?.data ?? {};
}

export { authorizedFetch };
