import { readFileSync } from 'node:fs';
import type { GraphQLSchema } from 'graphql';
import { createSchema } from 'graphql-yoga';
import { packagePath } from '../../package-root.ts';
import type { ApiDependencies } from '../dependencies.ts';
import type { LiveFeeds } from './live-feed.ts';
import { makeResolvers, type GraphqlContext } from './resolvers.ts';

/** The SDL is the contract; it lives beside the XSD so clients can read it without reading code. */
export const SCHEMA_FILE = packagePath('schemas', 'async-events.graphql');

export function loadSchemaSdl(file = SCHEMA_FILE): string {
  return readFileSync(file, 'utf8');
}

export function makeGraphqlSchema(deps: ApiDependencies, liveFeeds: LiveFeeds, sdl = loadSchemaSdl()): GraphQLSchema {
  return createSchema<GraphqlContext>({ typeDefs: sdl, resolvers: makeResolvers(deps, liveFeeds) });
}
