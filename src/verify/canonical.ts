/** Canonical JSON (sorted keys, no whitespace) and its sha256, with WebCrypto only (no node:* imports). */

type Work = { lit: string } | { val: unknown; inArray: boolean } | { leave: object };

/**
 * JSON with object keys sorted (UTF-16 order) and no whitespace; keys whose value is undefined are left
 * out. Iterative, so a value nested any depth deep never overflows the stack; a cyclic value throws a
 * TypeError (as JSON.stringify does). Cost: linear in the size of the value.
 */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const out: string[] = [];
  const stack: Work[] = [{ val: v, inArray: false }];
  // The objects on the path from the root to the current value: meeting one again is a cycle.
  const open = new Set<object>();
  while (stack.length) {
    const w = stack.pop()!;
    if ('lit' in w) {
      out.push(w.lit);
      continue;
    }
    if ('leave' in w) {
      open.delete(w.leave);
      continue;
    }
    const x = w.val;
    if (x === null || typeof x !== 'object') {
      // An element that JSON cannot spell (undefined, a function) is written as nothing inside an array and
      // as `undefined` after a key, as the recursive form of this function always wrote it.
      const s = JSON.stringify(x) as string | undefined;
      out.push(s ?? (w.inArray ? '' : 'undefined'));
      continue;
    }
    if (open.has(x)) throw new TypeError('canonicalJson: the value is cyclic');
    open.add(x);
    stack.push({ leave: x });
    if (Array.isArray(x)) {
      stack.push({ lit: ']' });
      for (let i = x.length - 1; i >= 0; i--) {
        stack.push({ val: x[i], inArray: true });
        if (i > 0) stack.push({ lit: ',' });
      }
      stack.push({ lit: '[' });
    } else {
      const o = x as Record<string, unknown>;
      const keys = Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort();
      stack.push({ lit: '}' });
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push({ val: o[keys[i]], inArray: false });
        stack.push({ lit: `${i > 0 ? ',' : ''}${JSON.stringify(keys[i])}:` });
      }
      stack.push({ lit: '{' });
    }
  }
  return out.join('');
}

export async function sha256HexWeb(text: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The hash a bundle uses to pin its verification key. Safe on a value of any depth (see canonicalJson). */
export function vkHash(vk: unknown): Promise<string> {
  return sha256HexWeb(canonicalJson(vk));
}
