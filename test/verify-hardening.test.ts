/**
 * Issue 10 (hardening), the parts of the verifier that need no proof: canonical JSON and the key hash on
 * values of any depth, the bounds walk, how refused values are described, verifyBundle's options, and the
 * verification key's depth, size and unknown fields. Bundles from a real proof are in verify.test.ts
 * ("hostile bundles").
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.ts';
import { checkJsonBounds, MAX_JSON_DEPTH } from '../src/verify/bounds.ts';
import { bundleBounds, unknownBundleField } from '../src/verify/bundle.ts';
import { canonicalJson, vkHash } from '../src/verify/canonical.ts';
import { describeValue } from '../src/verify/describe.ts';
import { parseVerificationKey } from '../src/verify/key.ts';
import type { ProofBundle, ZkonnxVerificationKey } from '../src/verify/types.ts';
import { verifyBundle } from '../src/verify/verify.ts';

/** [[[...[x]...]]], `depth` arrays deep. */
function deepArray(depth: number, leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** {"a":{"a":...}}, `depth` objects deep. */
function deepObject(depth: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let o = root;
  for (let i = 1; i < depth; i++) {
    const next: Record<string, unknown> = {};
    o.a = next;
    o = next;
  }
  return root;
}

/** The recursive canonicalJson this module had before issue 10: the reference for values it could handle. */
function recursiveCanonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(recursiveCanonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${recursiveCanonicalJson(o[k])}`)
    .join(',')}}`;
}

const g1 = ['1', '2', '1'];
const g2 = [['1', '2'], ['3', '4'], ['1', '0']];
/** A key as `zkonnx setup` writes it today (points are placeholders: only the shape matters here). */
const fullKey = () => ({
  protocol: 'groth16', curve: 'bn128', nPublic: 3,
  vk_alpha_1: g1, vk_beta_2: g2, vk_gamma_2: g2, vk_delta_2: g2,
  vk_alphabeta_12: [[['1', '2'], ['3', '4'], ['5', '6']], [['1', '2'], ['3', '4'], ['5', '6']]],
  IC: [g1, g1, g1, g1],
  zkonnx: {
    version: '0.1.0',
    model: { name: 'm', sha256: 'ab'.repeat(32) },
    r1csSha256: 'cd'.repeat(32),
    constraints: 10,
    input: { name: 'x', shape: [1, 2], quant: { kind: 'u8', scale: 0.5, zeroPoint: 3 } },
    output: { name: 'y', shape: [1], quant: { kind: 'acc', scales: [0.1], lo: [-5], hi: [5] } },
    key: { kind: 'dev', ptauPower: null },
    publicInputs: { layout: 'plain', signals: 2 },
  } as Record<string, unknown>,
});

function keyError(k: unknown): InputError {
  try {
    parseVerificationKey(k as object);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('the key was accepted');
}

describe('canonicalJson and vkHash on values of any depth', () => {
  it('a value nested 100,000 deep (arrays or objects) is written, not a RangeError', async () => {
    const arr = deepArray(100_000);
    expect(canonicalJson(arr)).toBe('['.repeat(100_000) + '1' + ']'.repeat(100_000));
    const obj = deepObject(100_000);
    expect(canonicalJson(obj)).toBe('{"a":'.repeat(99_999) + '{}' + '}'.repeat(99_999));
    await expect(vkHash({ nPublic: 1, zkonnx: { input: { shape: arr } } })).resolves.toMatch(/^[0-9a-f]{64}$/);
    // The recursive form overflows on the same value: this is what the iteration fixes.
    expect(() => recursiveCanonicalJson(arr)).toThrow(RangeError);
  });

  it('writes exactly what the recursive form wrote, so every key keeps its hash', () => {
    const values: unknown[] = [
      fullKey(), [], {}, [[]], [{}], 'text', 5, null, true, -0, 1e21, [1, undefined, 3], [1, , 3], // eslint-disable-line no-sparse-arrays
      { b: 1, a: [1, { d: null, c: 'x"\\y\u2028' }], e: undefined, 'é': 2, Z: 3, '': 4 },
      { f: () => 1 }, [() => 1],
    ];
    for (const v of values) expect(canonicalJson(v), JSON.stringify(v)).toBe(recursiveCanonicalJson(v));
    const shared = { s: 1 };
    expect(canonicalJson([shared, { t: shared }])).toBe('[{"s":1},{"t":{"s":1}}]');
  });

  it('a cyclic value is a TypeError (as JSON.stringify has it), not an endless loop', () => {
    const c: Record<string, unknown> = { a: [] };
    (c.a as unknown[]).push(c);
    expect(() => canonicalJson(c)).toThrow(TypeError);
  });
});

describe('checkJsonBounds', () => {
  const loose = { maxDepth: 32, maxNodes: 1e6, maxChars: 1e6 };

  it('finds nesting deeper than allowed, and names where it starts (a deep path shortened)', () => {
    expect(checkJsonBounds(deepArray(32), loose)).toBeNull();
    expect(checkJsonBounds(deepArray(33), loose)).toMatchObject({ kind: 'depth', limit: 32, path: '[0][0][0][0][0][0]... (32 levels)' });
    expect(checkJsonBounds({ input: { shape: deepArray(100_000) } }, loose)).toMatchObject({ kind: 'depth', path: expect.stringMatching(/^input\.shape\[0\]/) });
    expect(checkJsonBounds({ a: { 'odd key': [deepArray(3)] } }, { ...loose, maxDepth: 4 })).toMatchObject({ kind: 'depth', path: 'a["odd key"][0][0]' });
    // An empty container at the limit is not deeper than the limit.
    expect(checkJsonBounds(deepArray(32, []), loose)).toBeNull();
    expect(checkJsonBounds(deepArray(32, {}), loose)).toBeNull();
    expect(checkJsonBounds(deepArray(32, [1]), loose)).toMatchObject({ kind: 'depth' });
  });

  it('counts values and text, and refuses a large array or string by its length, before visiting it', () => {
    expect(checkJsonBounds([1, 2, 3], { ...loose, maxNodes: 4 })).toBeNull();
    expect(checkJsonBounds([1, 2, 3, 4], { ...loose, maxNodes: 4 })).toMatchObject({ kind: 'nodes', path: '(root)' });
    expect(checkJsonBounds({ ok: 'ab', junk: 'x'.repeat(100) }, { ...loose, maxChars: 50 })).toMatchObject({ kind: 'chars', path: 'junk' });
    // Object keys are text too.
    expect(checkJsonBounds({ ['k'.repeat(60)]: 1 }, { ...loose, maxChars: 50 })).toMatchObject({ kind: 'chars' });
    // A sparse array of length 2^32 - 1 would take minutes to visit: its length alone refuses it.
    const huge: unknown[] = [];
    huge.length = 2 ** 32 - 1;
    expect(checkJsonBounds({ junk: huge }, loose)).toMatchObject({ kind: 'nodes', path: 'junk' });
  });

  it('ends on a cycle (reported as too deep)', () => {
    const c: Record<string, unknown> = {};
    c.self = c;
    expect(checkJsonBounds(c, loose)).toMatchObject({ kind: 'depth' });
  });

  it('the bundle bounds hold an honest MNIST-sized bundle with room, and grow with the key', () => {
    const mnist = bundleBounds({ nIn: 784, nOut: 10, nPublic: 794, rank: 4, nameChars: 11 });
    expect(mnist.maxDepth).toBe(MAX_JSON_DEPTH);
    // An honest one holds 1,698 values and 2,852 characters (artifacts/mnist-mlp/bundle.json).
    expect(mnist.maxNodes).toBeGreaterThan(2 * 1698);
    expect(mnist.maxNodes).toBeLessThan(10_000);
    expect(mnist.maxChars).toBeGreaterThan(10 * 2852);
    expect(mnist.maxChars).toBeLessThan(100_000);
  });
});

describe('describeValue: what a message says about a refused value', () => {
  it('names Infinity and NaN, quotes and cuts strings, and never prints an object or array', () => {
    expect(describeValue(JSON.parse('1e400'))).toBe('Infinity (not a finite number; a literal such as 1e400 overflows a double)');
    expect(describeValue(JSON.parse('-1e400'))).toMatch(/^-Infinity \(not a finite number/);
    expect(describeValue(NaN)).toBe('NaN (not a number)');
    expect(describeValue('abc')).toBe('the string "abc"');
    expect(describeValue('x'.repeat(10_000_000))).toBe(`the string "${'x'.repeat(40)}..." (10000000 characters)`);
    expect(describeValue({ a: 1 })).toBe('an object');
    expect(describeValue([1, 2])).toBe('an array of 2');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('undefined (missing)');
    expect(describeValue(true)).toBe('true');
    expect(describeValue(5n)).toBe('the bigint 5n');
    expect(describeValue(10n ** 100n)).toBe('the bigint of 101 digits');
    expect(describeValue(-2.5)).toBe('-2.5');
    expect(describeValue(deepArray(100_000))).toBe('an array of 1');
  });
});

describe('verifyBundle options (a caller error: InputError, thrown)', () => {
  const junk = {} as unknown as ProofBundle;
  const noKey = null as unknown as ZkonnxVerificationKey;

  it('refuses a vkSha256 that is not 64 hex digits, naming options.vkSha256', async () => {
    for (const bad of [5, 'xyz', 'ab'.repeat(31), 'ab'.repeat(33), `${'ab'.repeat(31)}zz`, null, ['ab'.repeat(32)]]) {
      const p = verifyBundle(junk, noKey, { vkSha256: bad as unknown as string });
      await expect(p, String(bad)).rejects.toBeInstanceOf(InputError);
      await expect(verifyBundle(junk, noKey, { vkSha256: bad as unknown as string })).rejects.toThrow(/^options\.vkSha256 must be a sha256 of 64 hex digits/);
    }
  });

  it('refuses options that are not an object, and an unknown option (a misspelt pin would pin nothing)', async () => {
    for (const bad of [null, 5, 'ab'.repeat(32), [], () => 1]) {
      await expect(verifyBundle(junk, noKey, bad as never)).rejects.toThrow(/^verifyBundle: options must be an object/);
    }
    await expect(verifyBundle(junk, noKey, { vksha256: 'ab'.repeat(32) } as never)).rejects.toThrow(/unknown option 'options\.vksha256'/);
  });

  it('accepts no options, {} and an absent vkSha256; a hash in either case', async () => {
    for (const opts of [undefined, {}, { vkSha256: undefined }, { vkSha256: 'AB'.repeat(32) }, { vkSha256: 'ab'.repeat(32) }]) {
      await expect(verifyBundle(junk, noKey, opts)).resolves.toMatchObject({ valid: false, reason: 'not a zkonnx proof bundle' });
    }
  });
});

describe('parseVerificationKey: depth, size and fields the format does not define', () => {
  it('accepts a key as setup writes it today, with or without wires, publicInputs or vk_alphabeta_12', () => {
    expect(parseVerificationKey(fullKey())).toBeTruthy();
    const withWires = fullKey();
    withWires.zkonnx.wires = 12;
    expect(parseVerificationKey(withWires)).toBeTruthy();
    const old = fullKey() as Record<string, unknown>;
    delete (old.zkonnx as Record<string, unknown>).publicInputs;
    delete old.vk_alphabeta_12;
    expect(parseVerificationKey(old)).toBeTruthy();
    // A small field snarkjs might add at the top level is allowed (it is covered by the key's hash).
    expect(parseVerificationKey({ ...fullKey(), vk_extra: ['1'] })).toBeTruthy();
  });

  it('a field nested 100,000 deep is an InputError naming the field, not a RangeError', () => {
    const k = fullKey();
    (k.zkonnx.input as Record<string, unknown>).shape = deepArray(100_000);
    expect(keyError(k).message).toMatch(/field 'zkonnx\.input\.shape\[0\]\[0\]\[0\]\.\.\. \(32 levels\)' is nested more than 32 deep/);
    // As text (JSON.stringify itself overflows on such a value; JSON.parse does not).
    const text = JSON.stringify({ ...fullKey(), vk_alphabeta_12: 'DEEP' }).replace('"DEEP"', `${'['.repeat(200_000)}1${']'.repeat(200_000)}`);
    expect(() => parseVerificationKey(text)).toThrow(/field 'vk_alphabeta_12\[0\]\[0\].*' is nested more than 32 deep/);
  });

  it('a key larger than its nPublic allows is refused, naming where the limit was crossed', () => {
    expect(keyError({ ...fullKey(), junk: 'x'.repeat(10_000_000) }).message).toMatch(/field 'junk' makes the key larger than a key with 3 public signals can be/);
    expect(keyError({ ...fullKey(), junk: new Array(100_000).fill(0) }).message).toMatch(/field 'junk' makes the key larger/);
  });

  it('refuses a field the zkonnx section does not define, at any level, and fields of the wrong type', () => {
    const cases: [string, (z: Record<string, unknown>) => void][] = [
      ['zkonnx.extra', (z) => void (z.extra = 1)],
      ['zkonnx.model.extra', (z) => void ((z.model as Record<string, unknown>).extra = 1)],
      ['zkonnx.input.extra', (z) => void ((z.input as Record<string, unknown>).extra = 1)],
      ['zkonnx.output.quant.extra', (z) => void (((z.output as Record<string, unknown>).quant as Record<string, unknown>).extra = 1)],
      ['zkonnx.key.extra', (z) => void ((z.key as Record<string, unknown>).extra = 1)],
      ['zkonnx.publicInputs.extra', (z) => void ((z.publicInputs as Record<string, unknown>).extra = 1)],
      ['zkonnx.wires', (z) => void (z.wires = -1)],
      ['zkonnx.wires', (z) => void (z.wires = '12')],
      ['zkonnx.constraints', (z) => void (z.constraints = 1.5)],
      ['zkonnx.version', (z) => void (z.version = 'v'.repeat(101))],
      ['zkonnx.input.shape', (z) => void ((z.input as Record<string, unknown>).shape = [1, -2])],
      ['zkonnx.input.quant.zeroPoint', (z) => void (((z.input as Record<string, unknown>).quant as Record<string, unknown>).zeroPoint = 256)],
      ['zkonnx.output.quant.scales', (z) => void (((z.output as Record<string, unknown>).quant as Record<string, unknown>).scales = [0.1, 0.2])],
      ['zkonnx.key.kind', (z) => void ((z.key as Record<string, unknown>).kind = 'trusted')],
      ['zkonnx.publicInputs.layout', (z) => void ((z.publicInputs as Record<string, unknown>).layout = 'zip')],
    ];
    for (const [field, mutate] of cases) {
      const k = fullKey();
      mutate(k.zkonnx);
      expect(keyError(k).message, field).toContain(`field '${field}'`);
    }
  });

  it('describes a wrong protocol without JSON.stringify (a deep value there is described, not walked)', () => {
    expect(keyError({ ...fullKey(), protocol: deepArray(100_000) }).message).toMatch(/field 'protocol' is an array of 1, expected "groth16"/);
    expect(keyError({ ...fullKey(), protocol: 'plonk' }).message).toMatch(/field 'protocol' is the string "plonk", expected "groth16"/);
  });
});

describe('unknownBundleField', () => {
  it('names the first field the format does not define, at any level, and ignores undefined values', () => {
    const b = () => ({
      format: 'zkonnx-bundle', formatVersion: 1, zkonnxVersion: '0', modelSha256: '', vkSha256: '', keyKind: 'dev',
      circuit: { constraints: 1, wires: 1, publicSignals: 1, publicInputs: { layout: 'plain', signals: 1 } },
      quantization: { input: {}, output: {} }, input: { name: 'x', shape: [], quantized: [] },
      output: { name: 'y', shape: [], quantized: [], values: [] }, publicSignals: [],
      proof: { pi_a: [], pi_b: [], pi_c: [], protocol: 'groth16', curve: 'bn128' }, createdAt: '',
    }) as unknown as Record<string, Record<string, unknown>>;
    expect(unknownBundleField(b())).toBeNull();
    for (const path of ['extra', 'circuit.extra', 'circuit.publicInputs.extra', 'quantization.extra', 'input.extra', 'output.extra', 'proof.extra']) {
      const x = b();
      const parts = path.split('.');
      let o: Record<string, unknown> = x;
      for (const p of parts.slice(0, -1)) o = o[p] as Record<string, unknown>;
      o[parts.at(-1)!] = 0;
      expect(unknownBundleField(x), path).toBe(path);
    }
    expect(unknownBundleField({ ...b(), extra: undefined })).toBeNull();
  });
});
