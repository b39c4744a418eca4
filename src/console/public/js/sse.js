import { ApiError, authorizedFetch } from './api.js';

// A GraphQL subscription over Server-Sent Events. EventSource cannot send the Authorization header, so the
// stream is read with fetch and a ReadableStream, and the SSE framing is parsed here.

function parseEvent(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length === 0 && event === 'message' ? undefined : { event, data: data.join('\n') };
}

/**
 * Runs until the server completes the stream, the signal aborts or the connection fails. `onOpen` fires once the
 * server accepted the subscription; `onNext` gets each result's `data`.
 */
export async function subscribe(query, variables, { signal, onOpen, onNext }) {
  const response = await authorizedFetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query, variables }),
    signal,
  });
  const type = response.headers.get('content-type') ?? '';
  if (!response.ok || !type.includes('text/event-stream')) {
    let message = `The live feed was refused (HTTP ${response.status}).`;
    try {
      const body = await response.json();
      if (body?.errors?.[0]?.message) message = body.errors[0].message;
    } catch {
      // keep the generic message
    }
    throw new ApiError(message, { status: response.status });
  }
  onOpen?.();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, '');
      const event = parseEvent(block);
      if (!event) continue;
      if (event.event === 'complete') return;
      if (event.event !== 'next' && event.event !== 'message') continue;
      let payload;
      try {
        payload = JSON.parse(event.data);
      } catch {
        continue;
      }
      if (payload.errors?.length) throw new ApiError(payload.errors[0].message, { code: payload.errors[0].extensions?.code });
      if (payload.data) onNext(payload.data);
    }
  }
}
