import { graphql, rest } from '../api.js';

// Event names and sinks for the forms: GraphQL `events` and `sinks`; REST /V1/async_events/sinks when GraphQL is
// not there. Without an event list the forms fall back to a text field.

export async function loadCatalog() {
  try {
    const data = await graphql('{ events { name } sinks { key usable reason } }');
    return { events: data.events.map((e) => e.name), sinks: data.sinks, source: 'graphql' };
  } catch {
    const sinks = await rest('GET', '/rest/V1/async_events/sinks');
    return { events: null, sinks, source: 'rest' };
  }
}

/** Sink keys of subscriptions by id, which REST never returns (metadata): one aliased GraphQL query per page. */
export async function loadSinksOf(ids) {
  if (ids.length === 0) return new Map();
  const fields = ids.map((id) => `s${id}: subscription(id: "${Number(id)}") { sink }`).join(' ');
  const data = await graphql(`{ ${fields} }`);
  return new Map(ids.map((id) => [id, data[`s${id}`]?.sink ?? null]));
}
