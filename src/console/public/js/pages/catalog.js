import { graphql, rest } from '../api.js';

// Event names and sinks for the forms: GraphQL `events` and `sinks`; REST /V1/async_events/sinks when GraphQL is
// not there. Without an event list the forms fall back to a text field. `argumentsOf` holds each event's service
// argument names as the sidecar reads them from its REST route (null: unknown), for the test-event dialog.

export async function loadCatalog() {
  try {
    const data = await graphql('{ events { name arguments } sinks { key usable reason } }');
    return { events: data.events.map((e) => e.name), argumentsOf: new Map(data.events.map((e) => [e.name, e.arguments])), sinks: data.sinks, source: 'graphql' };
  } catch {
    const sinks = await rest('GET', '/rest/V1/async_events/sinks');
    return { events: null, argumentsOf: new Map(), sinks, source: 'rest' };
  }
}

/** Sink keys of subscriptions by id, which REST never returns (metadata): one aliased GraphQL query per page. */
export async function loadSinksOf(ids) {
  if (ids.length === 0) return new Map();
  const fields = ids.map((id) => `s${id}: subscription(id: "${Number(id)}") { sink }`).join(' ');
  const data = await graphql(`{ ${fields} }`);
  return new Map(ids.map((id) => [id, data[`s${id}`]?.sink ?? null]));
}
