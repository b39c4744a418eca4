import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GraphQLSchema } from 'graphql';
import { createSchema } from 'graphql-yoga';
import type { ApiDependencies } from '../dependencies.ts';
import type { LiveFeeds } from './live-feed.ts';
import { makeResolvers, type GraphqlContext } from './resolvers.ts';

/** The SDL is the contract; it lives beside the XSD so clients can read it without reading code. */
export const SCHEMA_FILE = fileURLToPath(new URL('../../../schemas/async-events.graphql', import.meta.url));

export function loadSchemaSdl(file = SCHEMA_FILE): string {
  return readFileSync(file, 'utf8');
}

export function makeGraphqlSchema(deps: ApiDependencies, liveFeeds: LiveFeeds, sdl = loadSchemaSdl()): GraphQLSchema {
  return createSchema<GraphqlContext>({ typeDefs: sdl, resolvers: makeResolvers(deps, liveFeeds) });
}
