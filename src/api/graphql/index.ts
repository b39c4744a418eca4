import type { IncomingMessage, ServerResponse } from 'node:http';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { createYoga, type YogaLogger } from 'graphql-yoga';
import { AsyncEventsError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { ApiDependencies, Principal } from '../dependencies.ts';
import { useBearerAuth } from './auth.ts';
import { toGraphqlError } from './errors.ts';
import { offlineGraphiql } from './graphiql.ts';
import type { GraphqlContext } from './resolvers.ts';
import { createLiveFeeds } from './live-feed.ts';
import { makeGraphqlSchema } from './schema.ts';

export const GRAPHQL_PATH = '/graphql';

const GRAPHIQL_QUERY = `# Put your token in the Headers tab: {"Authorization": "Bearer <token>"}
query RecentFailures {
  deliveries(query: "success:false", first: 10) {
    total
    nodes { logId uuid eventName created responseData }
  }
}
`;

/**
 * Limits checked while the document is parsed and validated, so a query over them is refused before any resolver
 * runs (GraphQL Armor). The deepest query the schema allows (a trace's subscription's fields) is 3 levels; the
 * console's largest is well under these. Field suggestions stay on: only an authenticated caller gets this far.
 */
export const GRAPHQL_LIMITS = {
  maxDepth: { n: 8 },
  maxAliases: { n: 15 },
  maxTokens: { n: 2000 },
  maxDirectives: { n: 20 },
  // Armor multiplies a selection's cost by a literal `first`; the largest page of deliveries (first: 500, every
  // field) costs about 12,250, so a few such pages fit and fifteen aliased ones do not.
  costLimit: { maxCost: 50_000 },
  blockFieldSuggestion: { enabled: false },
} as const;

type NodeContext = { req: IncomingMessage; res: ServerResponse };

export type GraphqlHandler = ((req: IncomingMessage, res: ServerResponse) => Promise<void>) & {
  /** Ends open subscriptions (live feeds) so their long-lived responses do not hold up a server's shutdown. */
  close(): void;
};

/**
 * GraphQL over HTTP at /graphql (POST/GET, subscriptions over SSE), as a node:http request handler for the one
 * HTTP server of the sidecar. GraphiQL is served to browsers; it holds no data and sends the token the user types.
 */
export function createGraphqlHandler(deps: ApiDependencies): GraphqlHandler {
  const logger = deps.logger.child({ component: 'graphql' });
  const principals = new WeakMap<Request, Principal>();
  const liveFeeds = createLiveFeeds(deps.onAttempt);
  const graphiql = offlineGraphiql();
  const yoga = createYoga<NodeContext, GraphqlContext>({
    schema: makeGraphqlSchema(deps, liveFeeds),
    graphqlEndpoint: GRAPHQL_PATH,
    context: ({ request }): GraphqlContext => {
      const principal = principals.get(request);
      // The auth plugin runs first for every request; reaching here without a principal is a wiring bug.
      if (!principal) throw toGraphqlError(new AsyncEventsError('UNAUTHORIZED', 'The request was not authenticated'));
      return { principal };
    },
    plugins: [useBearerAuth(deps.auth, principals, logger), EnvelopArmorPlugin(GRAPHQL_LIMITS), graphiql.plugin],
    renderGraphiQL: graphiql.render,
    graphiql: { title: 'async-events GraphQL', defaultQuery: GRAPHIQL_QUERY, headers: JSON.stringify({ Authorization: 'Bearer ' }) },
    landingPage: false,
    // Same-origin console and server-side clients need no CORS; other origins should not hold admin tokens.
    cors: false,
    maxRequestBodySize: 1_000_000,
    logging: yogaLogger(logger),
  });
  // `handle` answers synchronously (no promise) when it can, e.g. for GraphiQL's page; callers get a promise always.
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    await yoga.handle(req, res, { req, res });
  };
  return Object.assign(handler, { close: () => liveFeeds.closeAll() });
}

function yogaLogger(logger: Logger): YogaLogger {
  const forward =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]): void => {
      const [first] = args;
      if (first instanceof Error) logger[level]({ err: first }, first.message);
      else logger[level]({ detail: args }, 'graphql-yoga');
    };
  return { debug: forward('debug'), info: forward('info'), warn: forward('warn'), error: forward('error') };
}
