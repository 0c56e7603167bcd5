/**
 * File-system failures are the environment's, not zkonnx's: every one must end as exit 2 with a message that
 * names the path and the reason (EROFS, ENOSPC, EISDIR, ENOTDIR, ENOENT), never as exit 3 with a stack trace,
 * and must leave nothing half-written. Read-only and full file systems are real tmpfs mounts (root only); where
 * mounting is not allowed those tests are skipped and say so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../src/artifacts/io.ts';
import { FileSystemError } from '../src/errors.ts';
import { cli, type Run } from './helpers/cli.ts';
import { mlpFixture, type Fixture } from './helpers/fixtures.ts';

let F: Fixture;
let work: string;
let input: string;

function expectFsError(r: Run, errno: string, path: string): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(2);
  expect(r.stderr).toMatch(/^zkonnx: Cannot \w+ /m);
  expect(r.stderr).toContain(`(${errno})`);
  expect(r.stderr).toContain(path);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toMatch(/internal error/i);
}

/** Every file under dir (recursively), for "nothing half-written" checks. */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Mount a tmpfs of `kib` KiB at a fresh directory; null when this process may not mount. */
function mountTmpfs(kib: number): string | null {
  const at = join(work, `mnt-${Math.random().toString(16).slice(2)}`);
  try {
    execFileSync('mkdir', ['-p', at]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', at], { stdio: 'ignore' });
    mounts.push(at);
    return at;
  } catch {
    return null;
  }
}
const remountReadOnly = (at: string) => execFileSync('mount', ['-o', 'remount,ro', at]);
const mounts: string[] = [];

let canMount = false;

beforeAll(async () => {
  F = await mlpFixture('fs-errors', { sizes: [12, 6, 3], seed: 71, style: 'gemm' }, true);
  work = await mkdtemp(join(tmpdir(), 'zkonnx-fs-'));
  input = join(work, 'input.json');
  await writeFile(input, JSON.stringify(Array.from(F.inputs(1, 5)[0])));
  const probe = mountTmpfs(64);
  canMount = probe !== null;
  if (!canMount) console.warn('fs-errors: cannot mount tmpfs here (needs root with CAP_SYS_ADMIN): the read-only and full-disk tests are SKIPPED');
});

afterAll(async () => {
  for (const m of mounts.reverse()) {
    try {
      execFileSync('umount', [m], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  if (work) await rm(work, { recursive: true, force: true });
});

describe('prove --out onto a path that cannot take a file', () => {
  it('a directory (EISDIR)', async () => {
    const dir = join(work, 'a-directory');
    await mkdir(dir);
    const r = await cli('prove', F.dir, '--input', input, '--out', dir);
    expectFsError(r, 'EISDIR', dir);
    expect(await readdir(dir)).toEqual([]);
    expect((await readdir(work)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a path under a regular file (ENOTDIR)', async () => {
    const file = join(work, 'plain-file');
    await writeFile(file, 'x');
    const out = join(file, 'bundle.json');
    const r = await cli('prove', F.dir, '--input', input, '--out', out);
    expectFsError(r, 'ENOTDIR', out);
  });

  it('an unreachable path (ENOENT)', async () => {
    const out = '/proc/no-such-dir/bundle.json';
    const r = await cli('prove', F.dir, '--input', input, '--out', out, '--json');
    expect(r.code).toBe(2);
    const err = JSON.parse(r.stdout.trim()).error;
    expect(err.code).toBe('FILESYSTEM');
    expect(err.message).toContain(out);
    expect(err.message).toContain('ENOENT');
  });
});

describe('read-only and full file systems (tmpfs mounts)', () => {
  it('prove --out onto a read-only mount (EROFS)', async (ctx) => {
    if (!canMount) return ctx.skip();
    const at = mountTmpfs(64)!;
    remountReadOnly(at);
    const out = join(at, 'bundle.json');
    const r = await cli('prove', F.dir, '--input', input, '--out', out);
    expectFsError(r, 'EROFS', out);
    expect(await filesUnder(at)).toEqual([]);
  });

  it('prove --out onto a full disk (ENOSPC) leaves no temp file', async (ctx) => {
    if (!canMount) return ctx.skip();
    const at = mountTmpfs(4);
    if (!at) return ctx.skip();
    // Fill it: the bundle (several KB) cannot fit in what is left.
    await writeFile(join(at, 'filler'), Buffer.alloc(4096 - 512)).catch(() => {});
    const out = join(at, 'bundle.json');
    const r = await cli('prove', F.dir, '--input', input, '--out', out);
    expectFsError(r, 'ENOSPC', out);
    expect((await filesUnder(at)).map((p) => p.slice(at.length + 1))).toEqual(['filler']);
  });

  it('setup on a read-only artifact directory (EROFS) keeps the old key', async (ctx) => {
    if (!canMount) return ctx.skip();
    const at = mountTmpfs(16 * 1024)!;
    const dir = join(at, 'model');
    await cp(F.dir, dir, { recursive: true });
    const before = await filesUnder(dir);
    remountReadOnly(at);
    const r = await cli('setup', dir);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('(EROFS)');
    expect(r.stderr).toContain(at);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(await filesUnder(dir)).toEqual(before);
    // The directory still proves with its old key.
    const p = await cli('prove', dir, '--input', input, '--out', join(work, 'ro-bundle.json'));
    expect(p.code, p.stderr).toBe(0);
  });

  it('compile --out onto a full disk (ENOSPC) leaves nothing half-written', async (ctx) => {
    if (!canMount) return ctx.skip();
    const at = mountTmpfs(48)!;
    const dir = join(at, 'model');
    const r = await cli('compile', F.modelPath, '--input', input, '--out', dir);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^zkonnx: Cannot write .*: no space left on the device \(ENOSPC\)/m);
    expect(r.stderr).toContain(dir);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr).not.toMatch(/internal error|zkonnx bug/i);
    expect(await filesUnder(at)).toEqual([]);
  });
});

describe('the library', () => {
  it('writeFileAtomic throws a FileSystemError naming the path and errno', async () => {
    const dir = join(work, 'lib-dir');
    await mkdir(dir);
    const e = await writeFileAtomic(dir, 'x', 'bundle').then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(FileSystemError);
    expect((e as FileSystemError).errno).toBe('EISDIR');
    expect((e as FileSystemError).path).toBe(dir);
    expect((e as FileSystemError).exitCode).toBe(2);
    expect((e as Error).message).toBe(`Cannot write bundle '${dir}': it is a directory (EISDIR).\nHint: Give a file name, not a directory.`);
  });
});
