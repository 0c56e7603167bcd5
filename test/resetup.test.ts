/**
 * Re-running setup (and ceremony steps) on a keyed directory is one atomic switch. Regression: setup cleared
 * manifest.setup before building the new key, so Ctrl-C part-way left the old key on disk but `prove` saying
 * "has no proving key", and Ctrl-C after the zkey was written printed "nothing half-written" beside a new zkey
 * and the old vk. Here real `zkonnx setup` processes are interrupted (SIGINT) and killed (SIGKILL) at several
 * points of their run, and killed inside the commit itself (between its renames); after each, the directory
 * must hold one consistent key — the old or the new, never a mix — that proves.
 *
 * The same for a rebuild (`zkonnx compile --force`) of a keyed directory. Regression: compile removed
 * manifest.json, renamed the new files in one by one and wrote the manifest last, so Ctrl-C or a kill part-way
 * printed "nothing half-written" beside a directory that `prove` called "No compiled model", and after a
 * recompile "has no proving key": the key (made for an identical r1cs) was lost.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../src/artifacts/io.ts';
import { commitJournalPath, dirLockPath } from '../src/artifacts/lock.ts';
import { readManifest } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel } from '../src/compile/model.ts';
import { prove } from '../src/prove/prove.ts';
import { ceremonyContribute, ceremonyVerify } from '../src/setup/ceremony.ts';
import { ensureLocalPtau } from '../src/setup/ptau.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { vkHash } from '../src/verify/canonical.ts';
import { cli, ROOT } from './helpers/cli.ts';
import { mlpFixture, TEST_ROOT, type Fixture } from './helpers/fixtures.ts';

let fx: Fixture;
const DIR = join(TEST_ROOT, 'resetup-work');

beforeAll(async () => {
  fx = await mlpFixture('resetup', { sizes: [12, 9, 3], seed: 81, style: 'gemm' }, true);
  await rm(DIR, { recursive: true, force: true });
  await cp(fx.dir, DIR, { recursive: true });
  await writeFile(join(TEST_ROOT, 'resetup-input.json'), JSON.stringify(Array.from(fx.inputs(1, 6)[0])));
});

/**
 * Run an ES module script as a child process; resolves with the signal that ended it and its stderr. A file,
 * not `node --input-type=module -e`: that flag would be inherited by the key computation's worker threads,
 * whose eval'd source is CommonJS.
 */
function runScript(name: string, script: string): Promise<{ signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((done) => {
    const file = join(ROOT, TEST_ROOT, name);
    writeFileSync(file, script);
    const child = spawn(process.execPath, [file], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (_code, signal) => {
      rmSync(file, { force: true });
      done({ signal, stderr });
    });
  });
}

/**
 * The directory's key is consistent: the manifest records the hashes of the zkey and vk on disk, and a proof
 * made now verifies under that vk (prove checks its own proof). Returns the vk hash.
 */
async function consistentKey(dir: string): Promise<string> {
  const m = await readManifest(dir);
  expect(m.setup, 'manifest.setup').toBeDefined();
  const vk = JSON.parse(await readFile(artifactPath(dir, 'vk'), 'utf8'));
  expect(await vkHash(vk), 'vk on disk vs manifest').toBe(m.setup!.vkSha256);
  expect(await sha256File(artifactPath(dir, 'zkey')), 'zkey on disk vs manifest').toBe(m.setup!.zkeySha256);
  const { bundle, verification } = await prove(dir, Array.from(fx.inputs(1, 4)[0]));
  expect(verification.valid).toBe(true);
  expect(bundle.vkSha256).toBe(m.setup!.vkSha256);
  return m.setup!.vkSha256;
}

const dotFiles = async (dir: string) => (await readdir(dir)).filter((f) => f.startsWith('.'));

/** Run `zkonnx setup DIR`, send `signal` once a stderr line matches `at`; resolve with the exit and stderr. */
function setupKilledAt(at: RegExp, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; sent: boolean }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['bin/zkonnx.js', 'setup', DIR], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && at.test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('close', (code, sig) => done({ code, signal: sig, stderr, sent }));
  });
}

// Points through a dev-key setup's run (its progress lines): key computation under way, the new zkey fully
// written but not yet committed, and the commit done (the process finishing).
const POINTS = [/fixed-base multiplications \.\.\./, /writing the zkey: done/, /setup: dev key for/];

describe('an interrupted re-setup leaves the old key or the new one, never a mix', () => {
  it('SIGINT (Ctrl-C) at several points: "nothing half-written" is true, and the directory proves', async () => {
    let before = await consistentKey(DIR);
    for (const at of POINTS) {
      const zkeyBefore = await sha256File(artifactPath(DIR, 'zkey'));
      const r = await setupKilledAt(at, 'SIGINT');
      expect(r.sent, r.stderr).toBe(true);
      expect([0, 130], r.stderr).toContain(r.code);
      if (r.code === 130) expect(r.stderr).toContain('nothing half-written');
      // Nothing left: the lock and the staged files are removed by the signal handler.
      expect(await dotFiles(DIR)).toEqual([]);
      const after = await consistentKey(DIR);
      // Before the key was even computed, the old key must still be there, byte for byte.
      if (at === POINTS[0]) {
        expect(after).toBe(before);
        expect(await sha256File(artifactPath(DIR, 'zkey'))).toBe(zkeyBefore);
      }
      before = after;
    }
  });

  it('SIGKILL at several points: the next zkonnx process takes over the stale lock, clears the staged files, and proves', async () => {
    const before = await consistentKey(DIR);
    for (const at of POINTS.slice(0, 2)) {
      const r = await setupKilledAt(at, 'SIGKILL');
      expect(r.signal).toBe('SIGKILL');
      // A killed process cannot clean up: its lock and staging directory are still there...
      expect(existsSync(dirLockPath(DIR))).toBe(true);
      expect((await dotFiles(DIR)).some((f) => f.startsWith('.zkonnx-stage-'))).toBe(true);
      // ...but the key is the old one, intact, and the next process (this prove) proceeds.
      expect(await consistentKey(DIR)).toBe(before);
      expect(await dotFiles(DIR)).toEqual([]);
    }
  });

  // Inside the commit, kill the process just before its k-th step: 1 = writing the journal, 2..4 = the renames
  // of zkey, vk and manifest, 5 = removing the journal. The next process must finish (or ignore) the commit.
  // (2 and 4 are like 3: some files renamed, some not.)
  const KILL_POINTS = [1, 3, 5];

  /** A child running setupKeys from dist/, with fs.renameSync / unlinkSync patched to SIGKILL it at step `k`. */
  function setupKilledInCommit(dir: string, k: number, call = 'setupKeys(dir)'): Promise<{ signal: NodeJS.Signals | null; stderr: string }> {
    const dist = (p: string) => pathToFileURL(join(ROOT, 'dist', p)).href;
    const script = `
      import fs from 'node:fs';
      import { syncBuiltinESMExports } from 'node:module';
      const dir = ${JSON.stringify(dir)};
      let n = 0;
      const step = () => { if (++n === ${k}) { process.kill(process.pid, 'SIGKILL'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5000); } };
      const rename = fs.renameSync, unlink = fs.unlinkSync;
      fs.renameSync = (a, b) => { if (String(b).includes(dir)) step(); return rename(a, b); };
      fs.unlinkSync = (p) => { if (String(p).endsWith('.zkonnx-commit.json')) step(); return unlink(p); };
      syncBuiltinESMExports();
      const { setupKeys } = await import(${JSON.stringify(dist('setup/setup.js'))});
      const { ceremonyContribute } = await import(${JSON.stringify(dist('setup/ceremony.js'))});
      await ${call};
      process.stderr.write('finished without being killed');
    `;
    return runScript(`resetup-kill-${k}.mjs`, script);
  }

  it('SIGKILL between the commit\'s renames: the next process rolls the journal forward to the new key', async () => {
    let before = await consistentKey(DIR);
    for (const k of KILL_POINTS) {
      const r = await setupKilledInCommit(DIR, k);
      expect(r.signal, r.stderr).toBe('SIGKILL');
      // Killed once the journal is in place (k >= 2): the journal is left, and the files on disk may be a mix.
      expect(existsSync(commitJournalPath(DIR))).toBe(k >= 2);
      // The next zkonnx process (a real CLI prove) finishes the commit before reading anything.
      const p = await cli('prove', DIR, '--input', join(TEST_ROOT, 'resetup-input.json'), '--out', join(TEST_ROOT, 'resetup-bundle.json'), '--quiet');
      expect(p.code, p.stderr).toBe(0);
      const after = await consistentKey(DIR);
      if (k === 1) expect(after).toBe(before);
      else expect(after).not.toBe(before);
      expect(await dotFiles(DIR)).toEqual([]);
      before = after;
    }
  }, 120_000);

  it('the same for a ceremony contribution killed half-way through its commit', async () => {
    const dir = join(TEST_ROOT, 'resetup-ceremony');
    await rm(dir, { recursive: true, force: true });
    await cp(fx.dir, dir, { recursive: true });
    const ptau = await ensureLocalPtau(10);
    await setupKeys(dir, { ptau });
    await ceremonyContribute(dir, 'alice');
    const before = (await readManifest(dir)).setup!.vkSha256;
    const r = await setupKilledInCommit(dir, 3, `ceremonyContribute(dir, 'bob')`);
    expect(r.signal, r.stderr).toBe('SIGKILL');
    expect(existsSync(commitJournalPath(dir))).toBe(true);
    // readManifest (any zkonnx process opening the directory) rolls it forward.
    const m = await readManifest(dir);
    expect(m.setup!.vkSha256).not.toBe(before);
    expect(existsSync(commitJournalPath(dir))).toBe(false);
    const v = await ceremonyVerify(dir, ptau);
    expect(v.valid, v.errors.join('\n')).toBe(true);
    expect(v.contributions.join('\n')).toMatch(/#3 bob/);
    const vk = JSON.parse(await readFile(artifactPath(dir, 'vk'), 'utf8'));
    expect(await vkHash(vk)).toBe(m.setup!.vkSha256);
    expect(await sha256File(artifactPath(dir, 'zkey'))).toBe(m.setup!.zkeySha256);
    expect(await dotFiles(dir)).toEqual([]);
  }, 120_000);
});

describe('an interrupted recompile of a keyed directory leaves the old compiled state or the new one, key kept', () => {
  const CDIR = join(TEST_ROOT, 'resetup-compile');
  const CAL = join(TEST_ROOT, 'resetup-calibration.json');

  // These runs interrupt circom (a child process) and commit its circuit_js/ too: the circom backend, keyed.
  beforeAll(async () => {
    await rm(CDIR, { recursive: true, force: true });
    await compileModel(fx.modelPath, { out: CDIR, calibration: fx.calibration, backend: 'circom' });
    await setupKeys(CDIR);
    // The fixture's own calibration: the rebuilt r1cs is identical, so the key must survive.
    await writeFile(CAL, JSON.stringify(fx.calibration.map((x) => Array.from(x))));
  }, 120_000);

  /** The key is the one from before, with its manifest record, and the directory proves with it. */
  async function keyKept(before: { setup: unknown; zkey: string; r1cs: string }): Promise<void> {
    await consistentKey(CDIR);
    const m = await readManifest(CDIR);
    expect(m.setup).toEqual(before.setup);
    expect(m.circuit.r1csSha256).toBe(before.r1cs);
    expect(await sha256File(artifactPath(CDIR, 'r1cs'))).toBe(before.r1cs);
    expect(await sha256File(artifactPath(CDIR, 'zkey'))).toBe(before.zkey);
    expect(existsSync(artifactPath(CDIR, 'wasm'))).toBe(true);
  }

  async function state(): Promise<{ setup: unknown; zkey: string; r1cs: string }> {
    const m = await readManifest(CDIR);
    return { setup: m.setup, zkey: await sha256File(artifactPath(CDIR, 'zkey')), r1cs: m.circuit.r1csSha256 };
  }

  /**
   * Run `zkonnx compile --force` on CDIR and send `signal` once a stderr line matches `at` (or, for 'manifest
   * gone', as soon as manifest.json is seen missing: the old compile's first step). Also reports whether
   * manifest.json was ever seen missing while the compile ran.
   */
  function compileKilledAt(at: RegExp | 'manifest gone', signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; sent: boolean; manifestGone: boolean }> {
    return new Promise((done) => {
      const child = spawn(process.execPath, ['bin/zkonnx.js', 'compile', fx.modelPath, '--calibration', CAL, '--out', CDIR, '--force', '--backend', 'circom'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      let sent = false;
      let manifestGone = false;
      const send = () => {
        if (sent) return;
        sent = true;
        child.kill(signal);
      };
      const watch = setInterval(() => {
        if (existsSync(artifactPath(CDIR, 'manifest'))) return;
        manifestGone = true;
        if (at === 'manifest gone') send();
      }, 1);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (at !== 'manifest gone' && at.test(stderr)) send();
      });
      child.on('close', (code, sig) => {
        clearInterval(watch);
        done({ code, signal: sig, stderr, sent, manifestGone });
      });
    });
  }

  // Points through a compile's run: quantizing, circom running, circom finished (the new files staged, the
  // commit about to be made), and the reviewer's reproduction (the moment the old compile dropped the manifest).
  const COMPILE_POINTS: (RegExp | 'manifest gone')[] = [/quantize: calibrating/, /compile: circom --O1 \.\.\./, /compile: circom --O1: done/, 'manifest gone'];

  it('SIGINT (Ctrl-C) at several points: the key survives, "nothing half-written" is true, prove works', async () => {
    const before = await state();
    for (const at of COMPILE_POINTS) {
      const r = await compileKilledAt(at, 'SIGINT');
      if (at !== 'manifest gone') expect(r.sent, r.stderr).toBe(true);
      // Before circom finished the process is certainly still running; after, it may have finished.
      expect(at === COMPILE_POINTS[0] || at === COMPILE_POINTS[1] ? [130] : [0, 130], r.stderr).toContain(r.code);
      if (r.code === 130) expect(r.stderr).toContain('nothing half-written');
      // The directory never reads as "not compiled", not even for a moment.
      expect(r.manifestGone, `${String(at)}: manifest.json went missing`).toBe(false);
      expect(await dotFiles(CDIR)).toEqual([]);
      await keyKept(before);
    }
  }, 300_000);

  it('SIGKILL while circom runs: the next process takes over the lock, clears the staging dir, and proves with the key', async () => {
    const before = await state();
    const r = await compileKilledAt(/compile: circom --O1 \.\.\./, 'SIGKILL');
    expect(r.signal).toBe('SIGKILL');
    expect(existsSync(dirLockPath(CDIR))).toBe(true);
    expect((await dotFiles(CDIR)).some((f) => f.startsWith('.zkonnx-stage-'))).toBe(true);
    await keyKept(before);
    expect(await dotFiles(CDIR)).toEqual([]);
  }, 120_000);

  // Inside compile's commit, the k-th step: 1 writing the journal, 2..5 circuit.circom, quantized-model.json,
  // circuit.r1cs, circuit.sym, 6 the old circuit_js moved into the stage, 7 the new circuit_js moved in,
  // 8 manifest.json, 9 removing the journal.
  const COMPILE_KILL_POINTS: [number, RegExp][] = [
    [1, /rename to .*\.zkonnx-commit\.json$/m],
    [4, /rename to .*\/circuit\.r1cs$/m],
    [6, /rename to .*\.zkonnx-stage-[0-9a-f]+\/circuit_js\.old$/m],
    [7, /rename to .*resetup-compile\/circuit_js$/m],
    [8, /rename to .*\/manifest\.json$/m],
    [9, /unlink .*\.zkonnx-commit\.json$/m],
  ];

  /** A child running compileModel (--force) from dist/, with renameSync / unlinkSync patched to SIGKILL it at step k. */
  function compileKilledInCommit(k: number): Promise<{ signal: NodeJS.Signals | null; stderr: string }> {
    const dist = (p: string) => pathToFileURL(join(ROOT, 'dist', p)).href;
    const script = `
      import fs from 'node:fs';
      import { dirname, resolve } from 'node:path';
      import { syncBuiltinESMExports } from 'node:module';
      const dir = resolve(${JSON.stringify(join(ROOT, CDIR))});
      let n = 0;
      const step = (what) => { if (++n === ${k}) { process.stderr.write('killed before: ' + what + '\\n'); process.kill(process.pid, 'SIGKILL'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5000); } };
      const rename = fs.renameSync, unlink = fs.unlinkSync;
      // Only renames into the artifact directory itself (and into the stage, for the old circuit_js).
      fs.renameSync = (a, b) => { const to = resolve(String(b)); if (dirname(to) === dir || to.endsWith('circuit_js.old')) step('rename to ' + to); return rename(a, b); };
      fs.unlinkSync = (p) => { if (String(p).endsWith('.zkonnx-commit.json')) step('unlink ' + p); return unlink(p); };
      syncBuiltinESMExports();
      const { compileModel } = await import(${JSON.stringify(dist('compile/model.js'))});
      const cal = JSON.parse(fs.readFileSync(${JSON.stringify(join(ROOT, CAL))}, 'utf8'));
      await compileModel(${JSON.stringify(join(ROOT, fx.modelPath))}, { out: dir, calibration: { json: cal, source: 'calibration' }, force: true, backend: 'circom' });
      process.stderr.write('finished without being killed');
    `;
    return runScript(`resetup-compile-kill-${k}.mjs`, script);
  }

  it('SIGKILL between the commit\'s renames (circuit_js included): the next process rolls forward, the key survives', async () => {
    const before = await state();
    for (const [k, step] of COMPILE_KILL_POINTS) {
      const r = await compileKilledInCommit(k);
      expect(r.signal, `k=${k}: ${r.stderr}`).toBe('SIGKILL');
      expect(r.stderr, `k=${k}`).toMatch(step);
      expect(existsSync(commitJournalPath(CDIR)), `k=${k}`).toBe(k >= 2);
      // The next zkonnx process (a real CLI prove) finishes the commit before reading anything.
      const p = await cli('prove', CDIR, '--input', join(TEST_ROOT, 'resetup-input.json'), '--out', join(TEST_ROOT, 'resetup-bundle.json'), '--quiet');
      expect(p.code, `k=${k}: ${p.stderr}`).toBe(0);
      await keyKept(before);
      expect(await dotFiles(CDIR)).toEqual([]);
    }
  }, 300_000);
});
