/**
 * Deterministic JSON: object keys in the order the spec writes them (scenario,
 * observation and expectation keys), any other keys after them in sorted order.
 */
const KEY_ORDER = [
  // scenario / observation top level
  'format', 'name', 'scenario', 'description', 'arena', 'steps', 'snapshots', 'expect', 'observe',
  // steps and step observations
  'i', 'op', 'proc', 'vmas', 'label', 'page', 'pages', 'newPages', 'prot', 'shared', 'fixed', 'noreserve',
  'advice', 'flags', 'to', 'access',
  // results
  'result', 'ok', 'errno', 'signal',
  // snapshots
  'procs', 'start', 'end', 'perms', 'vmFlags', 'pgoff', 'anonVma', 'present', 'swapped', 'frame', 'compound', 'exclusive',
  // expectations
  'step', 'snapshot', 'vma', 'vmaCount', 'range', 'contains',
];
const RANK = new Map(KEY_ORDER.map((k, n) => [k, n]));
/** Step results: `{ok, page}`, `{ok, errno}`, `{ok, signal, page}`. */
const RESULT_RANK = new Map(['ok', 'errno', 'signal', 'page'].map((k, n) => [k, n]));

function orderKeys(keys: string[]): string[] {
  const rank = keys.includes('ok') ? RESULT_RANK : RANK;
  return keys.sort((a, b) => {
    const ra = rank.get(a);
    const rb = rank.get(b);
    if (ra !== undefined && rb !== undefined) return ra - rb;
    if (ra !== undefined) return -1;
    if (rb !== undefined) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

function normalize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : normalize(x)));
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of orderKeys(Object.keys(o))) if (o[k] !== undefined) out[k] = normalize(o[k]);
    return out;
  }
  return v;
}

/** `indent` 0 (default) gives one line; e.g. 2 gives the layout of the golden files. */
export function stableStringify(value: unknown, opts: { indent?: number } = {}): string {
  return JSON.stringify(normalize(value), null, opts.indent || undefined);
}
