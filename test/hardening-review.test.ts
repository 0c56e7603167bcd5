/**
 * Review findings on the hardened verifier and prover:
 * M2: a key's size budget comes from what it really holds (IC points, tensors), not its nPublic claim alone;
 * L1: verifyBundle is total on values built in code (a BigInt, a throwing getter);
 * M4: proveToFile refuses an out path that is DIR's artifact, a lock/journal/stage file, a symbolic link, a
 *     device or FIFO, or empty, before proving;
 * L2: readJsonFile's size cap holds for devices and FIFOs (stat size 0);
 * L3: read errors are worded as write errors are, and stay InputError (BAD_INPUT).
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, lstatSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJsonFile, sha256File } from '../src/artifacts/io.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { FileSystemError, InputError } from '../src/errors.ts';
import { proveToFile, readVerificationKey } from '../src/prove/prove.ts';
import { vkHash } from '../src/verify/canonical.ts';
import { parseVerificationKey } from '../src/verify/key.ts';
import type { ProofBundle, ZkonnxVerificationKey } from '../src/verify/types.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { cli } from './helpers/cli.ts';
import { mlpFixture, type Fixture } from './helpers/fixtures.ts';

let F: Fixture;
let work: string;
/** A copy of the fixture's directory: the out-path tests must not be able to harm the shared fixture. */
let dir: string;
let inputFile: string;
let input: number[];
let vk: ZkonnxVerificationKey;
let bundle: ProofBundle;

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

beforeAll(async () => {
  F = await mlpFixture('hardening-review', { sizes: [8, 5, 3], seed: 4242, style: 'gemm' }, true);
  work = await mkdtemp(join(tmpdir(), 'zkonnx-review-'));
  dir = join(work, 'art');
  await cp(F.dir, dir, { recursive: true, filter: (src) => !/[/\\]\.zkonnx/.test(src) });
  input = Array.from(F.inputs(1, 9)[0]);
  inputFile = join(work, 'input.json');
  await writeFile(inputFile, JSON.stringify(input));
  const r = await proveToFile(dir, input, { out: join(work, 'first-bundle.json') });
  bundle = JSON.parse(await readFile(r.path, 'utf8')) as ProofBundle;
  vk = await readVerificationKey(artifactPath(dir, 'vk'));
  expect((await verifyBundle(bundle, vk, { vkSha256: bundle.vkSha256 })).valid).toBe(true);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('M2: a key is bounded by what it holds, not by its nPublic claim', () => {
  const fat = (extra: Record<string, unknown>) => ({ ...clone(vk), nPublic: 2 ** 24, ...extra }) as unknown as ZkonnxVerificationKey;

  it('a key claiming 2^24 public signals with a large junk string is refused by its size, before it is hashed', async () => {
    const r = await verifyBundle(bundle, fat({ junk: 'x'.repeat(20_000_000) }), { vkSha256: bundle.vkSha256 });
    expect(r.valid).toBe(false);
    // Not "is not the expected one": that reason comes only after hashing the whole key.
    expect(r.reason).toMatch(/^verification key is malformed: it holds more than \d+ characters of text in all \(the limit was crossed at 'junk'\)$/);
    const limit = Number(/more than (\d+)/.exec(r.reason)![1]);
    expect(limit).toBeLessThan(1_000_000);
  });

  it('... or with many junk values', async () => {
    const r = await verifyBundle(bundle, fat({ junk: new Array(2_000_000).fill(0) }), { vkSha256: bundle.vkSha256 });
    expect(r.reason).toMatch(/^verification key is malformed: it holds more than \d+ values in all \(the limit was crossed at 'junk'\)$/);
  });

  it('IC points matching a large nPublic buy nothing when the tensors are small (outputs + inputs bound it)', async () => {
    const k = clone(vk) as unknown as Record<string, unknown>;
    const n = 100_000;
    k.nPublic = n;
    k.IC = new Array(n + 1).fill((vk.IC as unknown[])[0]);
    k.junk = 'x'.repeat(5_000_000);
    const r = await verifyBundle(bundle, k as unknown as ZkonnxVerificationKey, { vkSha256: bundle.vkSha256 });
    expect(r.reason).toMatch(/^verification key is malformed: it holds more than \d+ values in all \(the limit was crossed at 'IC'\)$/);
  });

  it('parseVerificationKey checks IC against nPublic before walking the key', () => {
    const k = { ...clone(vk), nPublic: 2 ** 24, junk: 'x'.repeat(1_000_000) };
    expect(() => parseVerificationKey(k)).toThrow(/field 'IC' must hold nPublic \+ 1 points/);
  });

  it('an honest key keeps its budget: the bundle verifies, pinned or not', async () => {
    expect((await verifyBundle(bundle, vk)).valid).toBe(true);
    expect((await verifyBundle(bundle, clone(vk), { vkSha256: await vkHash(vk) })).valid).toBe(true);
  });
});

describe('L1: verifyBundle never throws on what a bundle or key holds', () => {
  it('a BigInt in the key or the bundle is a refusal, not a TypeError', async () => {
    const k = clone(vk) as unknown as Record<string, unknown>;
    k.vk_extra = 1n;
    const r = await verifyBundle(bundle, k as unknown as ZkonnxVerificationKey);
    expect(r).toMatchObject({ valid: false, output: null });
    expect(r.reason).toMatch(/^malformed bundle or key: .*BigInt/);

    const b = clone(bundle);
    (b.quantization.input as unknown as Record<string, unknown>).extra = 2n;
    const r2 = await verifyBundle(b, vk);
    expect(r2.valid).toBe(false);
    expect(r2.reason).toMatch(/^malformed bundle or key: .*BigInt/);
  });

  it('a throwing getter (bundle or key), or a revoked proxy, is a refusal', async () => {
    const b = clone(bundle) as unknown as Record<string, unknown>;
    Object.defineProperty(b, 'createdAt', { enumerable: true, get: () => { throw new Error('boom'); } });
    await expect(verifyBundle(b as unknown as ProofBundle, vk)).resolves.toMatchObject({ valid: false, reason: 'malformed bundle or key: boom' });

    const k = clone(vk) as unknown as Record<string, unknown>;
    Object.defineProperty(k, 'nPublic', { enumerable: true, get: () => { throw 'not an Error'; } }); // eslint-disable-line no-throw-literal
    await expect(verifyBundle(bundle, k as unknown as ZkonnxVerificationKey)).resolves.toMatchObject({ valid: false, reason: expect.stringMatching(/^malformed bundle or key: /) });

    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    await expect(verifyBundle(proxy as ProofBundle, vk)).resolves.toMatchObject({ valid: false, reason: expect.stringMatching(/^malformed bundle or key: /) });
  });

  it('bad options still throw InputError', async () => {
    await expect(verifyBundle(bundle, vk, { vkSha256: 'nope' })).rejects.toBeInstanceOf(InputError);
    await expect(verifyBundle(bundle, vk, { vksha256: bundle.vkSha256 } as never)).rejects.toBeInstanceOf(InputError);
  });
});

describe('M4: prove refuses an out path that is not a place for a bundle, before proving', () => {
  /** The sha256 of every artifact in `dir`, to show nothing was touched. */
  async function artifactHashes(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const k of ['manifest', 'vk', 'zkey', 'model', 'r1cs', 'sym', 'circom'] as const) out[k] = await sha256File(artifactPath(dir, k));
    return out;
  }

  it('the CLI refuses DIR/verification_key.json (exit 2, naming the path) and leaves the key as it was', async () => {
    const before = await artifactHashes();
    const out = artifactPath(dir, 'vk');
    const r = await cli('prove', dir, '--input', inputFile, '--out', out, '--json');
    expect(r.code, r.stdout + r.stderr).toBe(2);
    const err = JSON.parse(r.stdout.trim()).error;
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toContain(`'${out}'`);
    expect(err.message).toMatch(/verification key/);
    expect(await artifactHashes()).toEqual(before);
  });

  it('every artifact, circuit_js/, zkonnx lock/journal/stage files, also by another spelling or through a link', async () => {
    const before = await artifactHashes();
    await symlink(dir, join(work, 'link-to-art'));
    await mkdir(join(dir, 'bundles'), { recursive: true });
    const cases = [
      artifactPath(dir, 'manifest'), artifactPath(dir, 'zkey'), artifactPath(dir, 'model'), artifactPath(dir, 'r1cs'),
      artifactPath(dir, 'sym'), artifactPath(dir, 'circom'), artifactPath(dir, 'wasm'), join(dir, 'circuit_js', 'other.json'),
      join(dir, '.zkonnx.lock'), join(dir, '.zkonnx-commit.json'), join(dir, '.zkonnx-stage-00ff', 'manifest.json'),
      join(work, '.bundle.json.zkonnx.lock'),
      `${dir}/bundles/../manifest.json`, join(work, 'link-to-art', 'verification_key.json'),
      relative(process.cwd(), artifactPath(dir, 'vk')),
    ];
    for (const out of cases) {
      const e = await proveToFile(dir, input, { out }).then(() => null, (x: unknown) => x);
      expect(e, out).toBeInstanceOf(InputError);
      expect((e as InputError).shortMessage, out).toMatch(new RegExp(`^Refusing to write the bundle to '${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': it is `));
    }
    expect(await artifactHashes()).toEqual(before);
  });

  it('a symbolic link or a FIFO at the path is refused (not replaced); a regular file is replaced', async () => {
    const target = join(work, 'target.json');
    await writeFile(target, 'keep me\n');
    const link = join(work, 'link.json');
    await symlink(target, link);
    const e = await proveToFile(dir, input, { out: link }).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).shortMessage).toMatch(/'.*link\.json': it is a symbolic link, not a regular file/);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(await readFile(target, 'utf8')).toBe('keep me\n');

    const fifo = join(work, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const f = await proveToFile(dir, input, { out: fifo }).then(() => null, (x: unknown) => x);
    expect(f).toBeInstanceOf(InputError);
    expect((f as InputError).shortMessage).toMatch(/it is a FIFO \(named pipe\), not a regular file/);
    expect(lstatSync(fifo).isFIFO()).toBe(true);

    // The link's target itself is a regular file: written.
    const ok = await proveToFile(dir, input, { out: target });
    expect(ok.path).toBe(target);
    expect(JSON.parse(await readFile(target, 'utf8')).format).toBe('zkonnx-bundle');
  });

  it('a directory is still the EISDIR FileSystemError, now before proving; an empty path is refused plainly', async () => {
    const d = join(work, 'a-dir');
    await mkdir(d);
    const e = await proveToFile(dir, input, { out: d }).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(FileSystemError);
    expect((e as Error).message).toBe(`Cannot write bundle '${d}': it is a directory (EISDIR).\nHint: Give a file name, not a directory.`);

    const r = await cli('prove', dir, '--input', inputFile, '--out', '');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^zkonnx: The bundle path is empty\./m);
  });
});

describe('L2 and L3: reading JSON files', () => {
  it('a FIFO (stat size 0) is refused once it passes maxBytes', async () => {
    const fifo = join(work, 'json-fifo');
    execFileSync('mkfifo', [fifo]);
    const w = createWriteStream(fifo);
    w.on('error', () => {}); // EPIPE once the reader stops
    w.end(JSON.stringify(new Array(5000).fill(1)));
    await expect(readJsonFile(fifo, 'bundle', { maxBytes: 4096 })).rejects.toThrow(`bundle '${fifo}' holds more than the 4096 bytes zkonnx reads for it.`);
    w.destroy();
  });

  it('a FIFO within the limit is read whole; a regular file over it is refused by its size', async () => {
    const fifo = join(work, 'json-fifo-small');
    execFileSync('mkfifo', [fifo]);
    const w = createWriteStream(fifo);
    w.end('[1,2,3]');
    await expect(readJsonFile(fifo, 'bundle', { maxBytes: 4096 })).resolves.toEqual([1, 2, 3]);
    const big = join(work, 'big.json');
    await writeFile(big, JSON.stringify(new Array(5000).fill(1)));
    await expect(readJsonFile(big, 'bundle', { maxBytes: 4096 })).rejects.toThrow(/^bundle '.*big\.json' is 10001 bytes, more than the 4096 bytes zkonnx reads for it\.$/);
    await expect(readJsonFile(big, 'bundle', { maxBytes: 10_001 })).resolves.toHaveLength(5000);
  });

  it('`zkonnx verify /dev/zero` stops at the limit (exit 2, the size named)', async () => {
    const r = await cli('verify', '/dev/zero', '--vk', artifactPath(dir, 'vk'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`bundle '/dev/zero' holds more than the ${256 * 1024 * 1024} bytes zkonnx reads for it.`);
  });

  it('read errors say what is wrong in words, as write errors do, and stay BAD_INPUT', async () => {
    const d = join(work, 'd2');
    await mkdir(d);
    const e = await readJsonFile(d, 'bundle').then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).code).toBe('BAD_INPUT');
    expect((e as InputError).shortMessage).toBe(`Cannot read bundle '${d}': it is a directory (EISDIR).`);
    const missing = join(work, 'missing.json');
    await expect(readJsonFile(missing, 'bundle')).rejects.toThrow(`Cannot read bundle '${missing}': no such file or directory (ENOENT).`);

    const r = await cli('verify', d, '--vk', artifactPath(dir, 'vk'), '--json');
    expect(r.code).toBe(2);
    const err = JSON.parse(r.stdout.trim()).error;
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toContain(`Cannot read bundle '${d}': it is a directory (EISDIR).`);
  });
});
