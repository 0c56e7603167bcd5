/**
 * How a message names a value it refuses, for values from untrusted files and callers (no node:* imports).
 * JSON.stringify is the wrong tool: it spells Infinity and NaN as `null`, drops undefined and functions,
 * throws on bigints and cycles, and would copy a 10 MB string into the message.
 */

const MAX_SHOWN = 40;

/**
 * A short, readable description of any value: numbers as written (Infinity and NaN named for what they are),
 * strings quoted and truncated, arrays and objects by kind and size, never their contents. Never throws.
 */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case 'number':
      if (Number.isNaN(v)) return 'NaN (not a number)';
      if (v === Infinity || v === -Infinity) {
        return `${v > 0 ? '' : '-'}Infinity (not a finite number; a literal such as ${v > 0 ? '' : '-'}1e400 overflows a double)`;
      }
      return String(v);
    case 'string': {
      const shown = v.length > MAX_SHOWN ? `${v.slice(0, MAX_SHOWN)}...` : v;
      return `the string ${JSON.stringify(shown)}${v.length > MAX_SHOWN ? ` (${v.length} characters)` : ''}`;
    }
    case 'bigint':
      return `the bigint ${v < 10n ** 30n && v > -(10n ** 30n) ? `${v}n` : `of ${v.toString().length} digits`}`;
    case 'boolean':
      return String(v);
    case 'undefined':
      return 'undefined (missing)';
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      if (v === null) return 'null';
      if (Array.isArray(v)) return `an array of ${v.length}`;
      return 'an object';
  }
}
