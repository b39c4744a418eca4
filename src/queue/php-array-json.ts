import { phpJsonEncode } from '../sinks/php-json.ts';

/*
 * `json_encode($array)` with default flags, for values that were PHP arrays on the publishing side (the named
 * service arguments of a trigger message, the fields of a retry message): keys 0..n-1 make a JSON list and an empty
 * array is `[]`. Strings and numbers are written like PHP (`\/`, lower-case `\uXXXX`, PHP floats) by the shared
 * encoder of src/sinks/php-json.ts.
 */
export function phpArrayJsonEncode(value: unknown): string {
  return phpJsonEncode(value, { phpArrays: true });
}
