import { randomBytes } from 'node:crypto';
import { AsyncEventsError, type ErrorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';

/**
 * Magento's REST error shape: the message keeps its `%1` / `%name` placeholders and the values travel beside it in
 * `parameters`, so clients that already render Magento errors render ours the same way.
 */
export interface MagentoErrorBody {
  readonly message: string;
  readonly parameters?: Readonly<Record<string, unknown>> | readonly unknown[];
  readonly errors?: readonly { readonly message: string; readonly parameters?: Readonly<Record<string, unknown>> | readonly unknown[] }[];
}

export const MANAGE_RESOURCE = 'MageOS_AsyncEvents::manage';
export const NOT_AUTHORIZED_MESSAGE = "The consumer isn't authorized to access %resources.";

/** An error whose message is a Magento template; `parameters` fill its placeholders. */
export function apiError(
  code: ErrorCode,
  template: string,
  parameters: Record<string, unknown> | unknown[] = {},
  extra: { errors?: MagentoErrorBody['errors']; cause?: unknown; status?: number } = {},
): AsyncEventsError {
  const details: Record<string, unknown> = { template, parameters };
  if (extra.errors) details.errors = extra.errors;
  if (extra.status !== undefined) details.httpStatus = extra.status;
  return new AsyncEventsError(code, renderMessage(template, parameters), details, extra.cause === undefined ? undefined : { cause: extra.cause });
}

/** Fills `%1`, `%2`… (positional) and `%name` (named) placeholders the way Magento's Phrase renderer does. */
export function renderMessage(template: string, parameters: Readonly<Record<string, unknown>> | readonly unknown[] | undefined): string {
  if (parameters === undefined) return template;
  return template.replace(/%(\d+|[A-Za-z_][A-Za-z0-9_]*)/g, (whole, key: string) => {
    const value = Array.isArray(parameters)
      ? /^\d+$/.test(key) ? parameters[Number(key) - 1] : undefined
      : (parameters as Readonly<Record<string, unknown>>)[key];
    if (value === undefined) return whole;
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  SUBSCRIPTION_NOT_FOUND: 404,
  NOT_FOUND: 404,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  VALIDATION_FAILED: 400,
  EVENT_UNKNOWN: 400,
  SINK_UNKNOWN: 400,
  SINK_NOT_CONFIGURED: 400,
  TARGET_FORBIDDEN: 400,
  QUERY_SYNTAX: 400,
  MESSAGE_MALFORMED: 400,
  STORE_UNAVAILABLE: 503,
  QUEUE_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
};

/** HTTP status and Magento-shaped body for anything a handler threw; unexpected errors are masked and logged. */
export function toErrorResponse(thrown: unknown, logger: Logger): { status: number; body: MagentoErrorBody } {
  if (thrown instanceof AsyncEventsError) {
    // Only errors made by apiError choose their own status; other stages' details may hold unrelated numbers.
    const explicit = typeof thrown.details.httpStatus === 'number' ? thrown.details.httpStatus : undefined;
    const status = explicit ?? STATUS_BY_CODE[thrown.code];
    if (status !== undefined) {
      const template = typeof thrown.details.template === 'string' ? thrown.details.template : thrown.message;
      const parameters = thrown.details.parameters as MagentoErrorBody['parameters'] | undefined;
      const errors = thrown.details.errors as MagentoErrorBody['errors'] | undefined;
      const body: MagentoErrorBody = {
        message: template,
        ...(parameters !== undefined ? { parameters } : {}),
        ...(errors !== undefined ? { errors } : {}),
      };
      if (status >= 500) logger.warn({ code: thrown.code, err: thrown }, 'request failed: service unavailable');
      return { status, body };
    }
  }
  // Magento masks unexpected errors outside developer mode; the report id ties the response to the log line.
  const reportId = `webapi-${randomBytes(6).toString('hex')}`;
  logger.error({ err: thrown, reportId }, 'unexpected error in REST handler');
  return { status: 500, body: { message: 'Internal Error. Details are available in the async-events log. Report ID: %1', parameters: [reportId] } };
}
