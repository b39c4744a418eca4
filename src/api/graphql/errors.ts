import type { GraphQLError } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import { AsyncEventsError, type ErrorCode } from '../../errors.ts';

/*
 * GraphQL errors carry our stable codes in `extensions.code`, except the two auth codes, which use the names GraphQL
 * clients already know (Apollo's UNAUTHENTICATED / FORBIDDEN). Only a few details travel with the message: the ones
 * that say where the input is wrong. Anything else a detail might hold stays in the process.
 */

const PUBLIC_DETAILS = ['field', 'position', 'line', 'column', 'uuid', 'id', 'limit', 'eventName', 'sink'] as const;

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = { UNAUTHORIZED: 401, FORBIDDEN: 403 };

export function graphqlCode(code: ErrorCode): string {
  return code === 'UNAUTHORIZED' ? 'UNAUTHENTICATED' : code;
}

export function toGraphqlError(error: AsyncEventsError): GraphQLError {
  const extensions: Record<string, unknown> = { code: graphqlCode(error.code) };
  for (const key of PUBLIC_DETAILS) {
    const value = error.details[key];
    if (typeof value === 'string' || typeof value === 'number') extensions[key] = value;
  }
  const status = HTTP_STATUS[error.code];
  if (status !== undefined) extensions.http = { status };
  // Built by yoga's own graphql instance: under vitest `graphql` can load twice (ESM and CJS), and yoga masks any
  // error that is not an instance of its GraphQLError. No originalError either, for the same reason.
  return createGraphQLError(error.message, { extensions });
}

/** A bad argument or input field, named the way the client wrote it (`input.recipientUrl`, `first`). */
export function inputError(field: string, message: string, code: ErrorCode = 'VALIDATION_FAILED'): AsyncEventsError {
  return new AsyncEventsError(code, `Invalid value of "${field}": ${message}`, { field });
}

/**
 * Resolver wrapper: our typed errors become GraphQL errors with their code; anything else is left for yoga to mask
 * (and log), so internals never reach the client.
 */
export function withErrorCodes<A extends unknown[], R>(resolve: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await resolve(...args);
    } catch (thrown) {
      if (thrown instanceof AsyncEventsError) throw toGraphqlError(thrown);
      throw thrown;
    }
  };
}
