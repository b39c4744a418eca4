import type { Plugin } from 'graphql-yoga';
import { AsyncEventsError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import type { Authenticator, Principal } from '../dependencies.ts';
import { graphqlCode } from './errors.ts';

/**
 * Every request that reaches GraphQL needs `Authorization: Bearer …`: queries, mutations, introspection and the
 * SSE request of a subscription alike. The check runs before the request is parsed, so a caller without a token
 * learns nothing, not even field names from validation messages, and gets a real 401/403 status (also on an SSE
 * request, where a GraphQL error inside a 200 stream would be easy to miss). Only GraphiQL's static page, served
 * earlier by yoga, needs no token; it sends the one typed into its headers editor.
 */
export function useBearerAuth(auth: Authenticator, principals: WeakMap<Request, Principal>, logger: Logger): Plugin {
  return {
    async onRequest({ request, endResponse, fetchAPI }) {
      try {
        principals.set(request, await auth.authenticate(request.headers.get('authorization') ?? undefined));
      } catch (thrown) {
        endResponse(refusal(thrown, fetchAPI.Response, logger));
      }
    },
  };
}

function refusal(thrown: unknown, ResponseClass: typeof Response, logger: Logger): Response {
  let status = 500;
  let code = 'INTERNAL_SERVER_ERROR';
  let message = 'Unexpected error while checking the bearer token; see the async-events log';
  if (thrown instanceof AsyncEventsError) {
    status = thrown.code === 'UNAUTHORIZED' ? 401 : thrown.code === 'FORBIDDEN' ? 403 : 503;
    code = graphqlCode(thrown.code);
    message = thrown.message;
    if (status === 503) logger.warn({ err: thrown }, 'GraphQL request refused: cannot check the bearer token');
  } else {
    logger.error({ err: thrown }, 'GraphQL request refused: bearer token check failed unexpectedly');
  }
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (status === 401) headers['www-authenticate'] = 'Bearer';
  return new ResponseClass(JSON.stringify({ errors: [{ message, extensions: { code } }] }), { status, headers });
}
