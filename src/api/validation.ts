import type { z } from 'zod';
import { apiError } from './api-error.ts';
import type { AsyncEventsError } from '../errors.ts';

/** Where a request value came from; decides how its field name is written in error messages. */
export type InputLocation = 'path' | 'query' | 'body';

/** `asyncEvent.recipient_url` for bodies, `searchCriteria[filter_groups][0]` for queries, `subscriptionId` for paths. */
export function fieldName(path: readonly PropertyKey[], location: InputLocation): string {
  const parts = path.map((p) => String(p));
  if (parts.length === 0) return location === 'body' ? 'request body' : location === 'query' ? 'query string' : 'path';
  if (location === 'query') return parts[0] + parts.slice(1).map((p) => `[${p}]`).join('');
  return parts.join('.');
}

interface IssueMessage {
  readonly message: string;
  readonly parameters: Record<string, unknown>;
}

/**
 * zod reports a failed union as one issue holding every branch's issues; the branch that got furthest into the
 * value (the longest path) is the one the caller meant, so its issues name the field precisely.
 */
function unwrapUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  const depth = (issues: readonly z.core.$ZodIssue[]) => Math.max(...issues.map((i) => i.path.length));
  const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0] ?? [];
  if (best.length === 0 || depth(best) === 0) return [issue];
  return best.flatMap((inner) => unwrapUnion({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue));
}

function describeIssue(issue: z.core.$ZodIssue, location: InputLocation): IssueMessage[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      message: '"%fieldName" is not a known field. Remove it and try again.',
      parameters: { fieldName: fieldName([...issue.path, key], location) },
    }));
  }
  const name = fieldName(issue.path, location);
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    // safeParse runs with reportInput; JSON has no undefined, so an undefined input is a missing field.
    return [{ message: '"%fieldName" is required. Enter and try again.', parameters: { fieldName: name } }];
  }
  if (issue.code === 'invalid_key') {
    return [{ message: '"%fieldName" is not a valid key: %reason', parameters: { fieldName: name, reason: issue.issues[0]?.message ?? issue.message } }];
  }
  return [{ message: 'Invalid value of "%fieldName": %reason', parameters: { fieldName: name, reason: issue.message } }];
}

/** A 400 naming every bad field: the first one as the message, all of them in `errors` as Magento does. */
export function validationError(issues: readonly z.core.$ZodIssue[], location: InputLocation): AsyncEventsError {
  const all = issues.flatMap(unwrapUnion).flatMap((issue) => describeIssue(issue, location));
  const first = all[0] ?? { message: 'The request is invalid.', parameters: {} };
  return apiError('VALIDATION_FAILED', first.message, first.parameters, all.length > 1 ? { errors: all } : {});
}

/** Parses with zod and turns failures into the 400 above. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, location: InputLocation): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw validationError(result.error.issues, location);
  return result.data;
}

/** A 400 about one named field, for checks zod cannot express (unknown event, sink, URL per sink). */
export function fieldError(field: string, reason: string): AsyncEventsError {
  return apiError('VALIDATION_FAILED', 'Invalid value of "%fieldName": %reason', { fieldName: field, reason });
}
