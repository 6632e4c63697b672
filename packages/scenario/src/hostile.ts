/**
 * Scenario files are input from anywhere: limits and checks that JSON.parse does not
 * make. A size limit, a nesting-depth limit, duplicate keys (JSON.parse silently keeps
 * the last), and a way to mention a bad value in an error message that quotes at most
 * a short prefix of it (a 50 MB string or a 10,000-deep object is not echoed).
 */

/** the largest scenario file read (bytes of text); 600k steps fit */
export const MAX_SCENARIO_BYTES = 64 * 1024 * 1024;
/** objects and arrays nested deeper than this are refused (a scenario needs 5) */
export const MAX_JSON_DEPTH = 32;
/** characters of a bad value an error message quotes */
export const QUOTE_CHARS = 40;

export interface JsonProblem {
  reason: string;
  /** offset in the text */
  offset: number;
}

export interface JsonScan {
  /** nesting deeper than MAX_JSON_DEPTH (report before parsing: deep input can blow the stack) */
  tooDeep?: JsonProblem;
  /** the first key repeated in one object (report after JSON.parse accepted the text) */
  duplicate?: JsonProblem;
}

/** an open object (with its keys so far) or array, while scanning */
interface Frame {
  keys: Set<string> | null;
  expectKey: boolean;
  path: string;
  index: number;
  lastKey?: string;
}

/**
 * One pass over JSON text without building values: the nesting depth and, per object,
 * the set of keys (compared after unescaping: "a" and "\u0061" are one key). Tolerant:
 * on text that is not JSON its findings mean nothing, and JSON.parse reports instead.
 */
export function scanJson(text: string, maxDepth = MAX_JSON_DEPTH): JsonScan {
  const out: JsonScan = {};
  const stack: Frame[] = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
      const top = stack[stack.length - 1];
      if (top && top.keys && top.expectKey) {
        top.expectKey = false;
        let key: string;
        try {
          key = JSON.parse(text.slice(start, i + 1)) as string;
        } catch {
          continue;
        }
        if (top.keys.has(key) && !out.duplicate) {
          out.duplicate = { reason: `duplicate key ${quote(key)}${top.path ? ` in ${top.path}` : ''} (JSON.parse would keep only the last)`, offset: start };
        }
        top.keys.add(key);
        top.lastKey = key;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const parent = stack[stack.length - 1];
      const path = parent ? childPath(parent) : '';
      stack.push({ keys: c === 0x7b ? new Set() : null, expectKey: c === 0x7b, path, index: 0 });
      if (stack.length > maxDepth) {
        out.tooDeep = { reason: `nested deeper than ${maxDepth} levels of objects and arrays${path ? ` (at ${path})` : ''}`, offset: i };
        return out;
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top) {
        if (top.keys) top.expectKey = true;
        else top.index++;
      }
    }
  }
  return out;
}

function childPath(p: Frame): string {
  const key = p.lastKey;
  if (p.keys) return key === undefined ? p.path : p.path ? `${p.path}.${key}` : key;
  return `${p.path}[${p.index}]`;
}

/** A string as JSON, cut to QUOTE_CHARS characters (saying how long it was). */
export function quote(s: string): string {
  if (s.length <= QUOTE_CHARS) return JSON.stringify(s);
  return `${JSON.stringify(s.slice(0, QUOTE_CHARS))}… (${s.length} characters)`;
}

/** What a bad value is, for error messages: its type and at most a short prefix of it. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? 'an empty array' : `an array of ${v.length}`;
  switch (typeof v) {
    case 'string':
      return `string ${quote(v)}`;
    case 'number':
    case 'boolean':
      return `${typeof v} ${String(v)}`;
    case 'object': {
      const keys = Object.keys(v as object);
      const shown = keys.slice(0, 3).map((k) => quote(k)).join(', ');
      return keys.length === 0 ? 'an empty object' : `an object with ${keys.length === 1 ? 'key' : 'keys'} ${shown}${keys.length > 3 ? `, … (${keys.length} keys)` : ''}`;
    }
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
    default: // (tsc does not see the typeof cases as exhaustive over unknown)
      return typeof v;
  }
}

/** Own-property membership: `constructor`, `toString` and `__proto__` are not fields of a plain table. */
export function hasOwnKey(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}
