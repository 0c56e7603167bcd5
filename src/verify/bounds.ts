/**
 * Depth and size bounds for JSON values from untrusted sources (bundles, keys), checked by an iterative walk
 * before any code that recurses into them or does work proportional to them (no node:* imports).
 *
 * JSON.parse itself takes any depth; recursive code over its result (canonical JSON, deep equality, flatten)
 * overflows the stack at some 10,000 levels and throws a RangeError. The walk holds an explicit stack, stops at
 * the first limit it crosses, and never looks at more than `maxNodes` values: an array's length is checked
 * against the budget before its elements are visited, a string's length before it is counted. A cycle (only
 * possible in a value built in code) is reported as too deep.
 */

/**
 * The deepest nesting zkonnx reads from a bundle or key. The formats nest 5 deep at most (a bundle's
 * quantization.output.quant.scales[i], a key's vk_alphabeta_12[i][j][k]); 32 leaves room and stays far
 * below any stack limit.
 */
export const MAX_JSON_DEPTH = 32;

export interface JsonBounds {
  /** Deepest nesting allowed: the root is at depth 0, its fields at depth 1. */
  maxDepth: number;
  /** Most values in all (every array, object, string, number, boolean and null counts one). */
  maxNodes: number;
  /** Most characters in all strings and object keys together. */
  maxChars: number;
}

/** The first limit a value crosses, and where (a path such as `circuit.publicInputs` or `publicSignals[3]`). */
export interface BoundsViolation {
  kind: 'depth' | 'nodes' | 'chars';
  path: string;
  limit: number;
}

interface Frame {
  v: unknown;
  depth: number;
  parent: Frame | null;
  key: string | number;
}

function hasOwnField(o: object): boolean {
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) return true;
  return false;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `a.b[3]["odd key"]`, each key cut to 40 characters, deep paths shortened; `(root)` for the root. */
function pathOf(f: Frame): string {
  const parts: string[] = [];
  for (let x: Frame | null = f; x && x.parent; x = x.parent) {
    const k = x.key;
    if (typeof k === 'number') parts.push(`[${k}]`);
    else {
      const short = k.length > 40 ? `${k.slice(0, 40)}...` : k;
      parts.push(IDENTIFIER.test(short) ? `.${short}` : `[${JSON.stringify(short)}]`);
    }
  }
  parts.reverse();
  // A path into deep nesting is shown by its start and its length.
  const s = parts.length > 8 ? `${parts.slice(0, 6).join('')}... (${parts.length} levels)` : parts.join('');
  return s === '' ? '(root)' : s.startsWith('.') ? s.slice(1) : s;
}

/**
 * Walk `root` iteratively and return the first bound it exceeds, or null. Cost: O(min(size, maxNodes)).
 * Arrays and plain objects are walked (own enumerable string keys); anything else is a leaf.
 */
export function checkJsonBounds(root: unknown, bounds: JsonBounds): BoundsViolation | null {
  let nodes = 1;
  let chars = 0;
  const stack: Frame[] = [{ v: root, depth: 0, parent: null, key: '' }];
  while (stack.length) {
    const f = stack.pop()!;
    const v = f.v;
    if (typeof v === 'string') {
      chars += v.length;
      if (chars > bounds.maxChars) return { kind: 'chars', path: pathOf(f), limit: bounds.maxChars };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (f.depth >= bounds.maxDepth) {
      // Its children would be deeper than allowed; an empty container at the limit is fine.
      if (Array.isArray(v) ? v.length > 0 : hasOwnField(v)) return { kind: 'depth', path: pathOf(f), limit: bounds.maxDepth };
      continue;
    }
    if (Array.isArray(v)) {
      nodes += v.length;
      if (nodes > bounds.maxNodes) return { kind: 'nodes', path: pathOf(f), limit: bounds.maxNodes };
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], depth: f.depth + 1, parent: f, key: i });
    } else {
      const keys = Object.keys(v);
      nodes += keys.length;
      if (nodes > bounds.maxNodes) return { kind: 'nodes', path: pathOf(f), limit: bounds.maxNodes };
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i];
        chars += k.length;
        if (chars > bounds.maxChars) return { kind: 'chars', path: pathOf(f), limit: bounds.maxChars };
        stack.push({ v: (v as Record<string, unknown>)[k], depth: f.depth + 1, parent: f, key: k });
      }
    }
  }
  return null;
}

/**
 * A bounds violation as a clause: "field 'x.y' is nested more than 32 deep", "it holds more than 9000 values
 * in all (the limit was crossed at 'junk')".
 */
export function describeViolation(v: BoundsViolation): string {
  switch (v.kind) {
    case 'depth':
      return `field '${v.path}' is nested more than ${v.limit} deep`;
    case 'nodes':
      return `it holds more than ${v.limit} values in all (the limit was crossed at '${v.path}')`;
    case 'chars':
      return `it holds more than ${v.limit} characters of text in all (the limit was crossed at '${v.path}')`;
  }
}
