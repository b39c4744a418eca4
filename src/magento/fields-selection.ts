import { parseTree, type Node } from 'jsonc-parser';
import { AsyncEventsError } from '../errors.ts';

/*
 * Magento REST's partial responses (`?fields=entity_id,items[sku,qty_ordered]`), applied to a response already
 * fetched, so one callback serves subscriptions that each want other fields. The output is what Magento's REST
 * would have answered for the same `fields`:
 * - keys come out in the response's order, not the selection's (Magento intersects the response with the filter);
 * - a list, or an object whose keys are all integers (PHP holds both as the same kind of array), is a collection:
 *   the selection applies to each item; an empty collection under a selection becomes `null`;
 * - what is left is encoded as PHP's json_encode encodes an array: a list when its keys are 0…n-1 in order,
 *   otherwise an object, and `[]` when nothing is left;
 * - scalars and keys keep their bytes exactly as Magento wrote them (escapes, number spellings).
 * One difference: Magento answers 500 when a collection holds a scalar under a selection (a PHP TypeError); we keep
 * the scalar.
 */

/** `true` keeps the whole value; a nested selection keeps only those keys of it. */
export type FieldSelection = ReadonlyMap<string, FieldSelection | true>;

/** Characters Magento's filter accepts: PHP's `\w` (without the unicode flag), brackets and commas. */
const ALLOWED = /^[A-Za-z0-9_[\],]*$/;

/**
 * Parses Magento's `fields` syntax. Magento silently answers `[]` for a malformed filter; a subscription is refused
 * instead, with the 1-based position of the mistake.
 */
export function parseFieldSelection(text: string): FieldSelection {
  if (text.length === 0) throw selectionError(text, 0, 'is empty');
  if (!ALLOWED.test(text)) {
    const index = [...text].findIndex((c) => !/[A-Za-z0-9_[\],]/.test(c));
    throw selectionError(text, index, `has "${[...text][index] ?? ''}", but only letters, digits, "_", "[", "]" and "," are allowed`);
  }
  const stack: { map: Map<string, FieldSelection | true>; parent: string }[] = [];
  let current = new Map<string, FieldSelection | true>();
  let start: number | null = null;
  let last: string | null = null;
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === undefined || c === '[' || c === ']' || c === ',') {
      if (start !== null) {
        last = text.slice(start, i);
        current.set(last, true);
      }
      if (c === '[') {
        if (start === null) throw selectionError(text, i, 'opens "[" without a field name before it');
        stack.push({ map: current, parent: last ?? '' });
        current = new Map();
      } else if (c === ']') {
        const frame = stack.pop();
        if (frame === undefined) throw selectionError(text, i, 'closes "]" that was never opened');
        frame.map.set(frame.parent, current);
        current = frame.map;
      }
      start = null;
    } else if (start === null) {
      start = i;
    }
  }
  if (stack.length > 0) throw selectionError(text, text.length, `leaves "[" after "${stack[stack.length - 1]?.parent ?? ''}" unclosed`);
  if (current.size === 0) throw selectionError(text, 0, 'names no field');
  return current;
}

/** Applies a selection to Magento's JSON response text; anything but an object or a list is left as it is. */
export function selectFields(json: string, selection: FieldSelection): string {
  const root = parseTree(json);
  if (root === undefined || (root.type !== 'object' && root.type !== 'array')) return json;
  return applySelection(json, root, selection);
}

interface Entry {
  readonly key: string;
  /** The key as written in the response (quotes and escapes included); undefined for list items. */
  readonly rawKey: string | undefined;
  readonly value: Node;
}

function entries(json: string, node: Node): Entry[] {
  const children = node.children ?? [];
  if (node.type === 'array') return children.map((value, index) => ({ key: String(index), rawKey: undefined, value }));
  return children.flatMap((property) => {
    const [keyNode, value] = property.children ?? [];
    if (keyNode === undefined || value === undefined) return [];
    return [{ key: String(keyNode.value), rawKey: raw(json, keyNode), value }];
  });
}

function applySelection(json: string, node: Node, selection: FieldSelection): string {
  const items = entries(json, node);
  if (items.every((item) => isPhpIntegerKey(item.key))) {
    if (items.length === 0) return 'null';
    const filtered = items.map((item) => ({ ...item, text: isContainer(item.value) ? intersect(json, item.value, selection) : raw(json, item.value) }));
    return encodeArray(filtered);
  }
  return intersect(json, node, selection);
}

function intersect(json: string, node: Node, selection: FieldSelection): string {
  const kept = entries(json, node).flatMap((item) => {
    const wanted = selection.get(item.key);
    if (wanted === undefined) return [];
    const text = wanted !== true && isContainer(item.value) ? applySelection(json, item.value, wanted) : raw(json, item.value);
    return [{ ...item, text }];
  });
  return encodeArray(kept);
}

function encodeArray(items: readonly (Entry & { readonly text: string })[]): string {
  if (items.every((item, index) => item.key === String(index))) return `[${items.map((item) => item.text).join(',')}]`;
  return `{${items.map((item) => `${item.rawKey ?? `"${item.key}"`}:${item.text}`).join(',')}}`;
}

// Keys compare as strings: PHP turns "12" into 12 on both sides alike, so string equality is PHP's key equality.
function isContainer(node: Node): boolean {
  return node.type === 'object' || node.type === 'array';
}

function raw(json: string, node: Node): string {
  return json.slice(node.offset, node.offset + node.length);
}

/** PHP turns a decimal integer string key ("12", not "012" or "-0") into an integer key. */
function isPhpIntegerKey(key: string): boolean {
  if (!/^(0|-?[1-9][0-9]*)$/.test(key)) return false;
  const value = BigInt(key);
  return value <= 9223372036854775807n && value >= -9223372036854775808n;
}

function selectionError(text: string, index: number, problem: string): AsyncEventsError {
  return new AsyncEventsError('VALIDATION_FAILED', `fields "${text}" ${problem} (position ${index + 1})`, { field: 'fields', position: index + 1 });
}
