/**
 * Artifact-directory locks and atomic multi-file commits.
 *
 * Locks. One zkonnx process at a time may change an artifact directory (exclusive: compile, setup, ceremony
 * contribute/beacon); any number may read it meanwhile when none changes it (shared: prove, ceremony verify).
 *   - The writer lock is DIR/.zkonnx.lock, made complete and atomically (a temp file hard-linked into place:
 *     the link fails if the lock exists), holding its owner: pid, hostname, command, start time.
 *   - Each reader registers DIR/.zkonnx.reader-<token> (same content), then looks for a writer lock; a writer
 *     takes its lock, then looks for readers. Whichever sees the other backs out, so a reader and a writer
 *     never both proceed (at worst both refuse).
 *   - A conflict is refused at once with a LockError (exit 2) naming the directory and the holder.
 *   - A lock whose owner is gone is taken over: same host, PID namespace and boot, and the pid no longer runs
 *     (or runs another program: Linux start times differ). A lock from another host, another PID namespace
 *     (a container sharing the host name and the volume) or another boot is never guessed about: the error
 *     names the file to remove. Only one process may remove a given stale lock (see removeStale).
 *   - Locks are released on return, on error, on SIGINT/SIGTERM (the CLI's handler runs cleanupPending) and on
 *     process.exit; a SIGKILL leaves a stale lock, taken over by the next run.
 *   - Within one async call chain, a lock already held is re-entered (an exclusive holder may also read);
 *     a shared holder cannot upgrade.
 *
 * Commits. An artifact directory's files are fixed names (circuit.zkey, verification_key.json, manifest.json
 * ...), so replacing several of them cannot be one rename. stageArtifacts() builds the new files (and the
 * circuit_js directory, for compile) in DIR/.zkonnx-stage-<id>/ while the old ones stay valid; commit() then
 * writes a journal (DIR/.zkonnx-commit.json, atomically) naming the staged entries, renames them into place
 * (an old directory is first renamed into the stage) and removes the journal, all synchronously: a
 * signal handler cannot run in between, so an interrupted run has either committed everything or nothing. If
 * the process dies during the commit (SIGKILL, power loss), the next process that locks the directory rolls
 * the journal forward before doing anything else.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import {
  closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, statSync,
  unlinkSync, writeFileSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ArtifactError, fileSystemError, isFileSystemFailure, LockError } from '../errors.ts';
import { asWriteError, ensureDir, onInterrupt, trackTemp } from './io.ts';
import { artifactPath, type ArtifactKind } from './paths.ts';

export type LockMode = 'exclusive' | 'shared';

/** Who holds a lock: written into the lock file, shown in the error of whoever is refused. */
export interface LockOwner {
  pid: number;
  hostname: string;
  /** The zkonnx command (or library call) holding it: 'setup', 'prove', ... */
  command: string;
  /** ISO 8601 UTC. */
  startedAt: string;
  /** Random; tells this holder's lock from a later one at the same path. */
  token: string;
  /** Linux: the process start time (clock ticks since boot) from /proc/PID/stat, to detect a reused pid. */
  procStart?: string;
  /**
   * Linux: the holder's PID namespace (readlink /proc/self/ns/pid, 'pid:[4026531836]'). Containers may share a
   * host name and a volume but not their pids: a pid is only checked from the namespace it was taken in.
   */
  pidNs?: string;
  /** Linux: /proc/sys/kernel/random/boot_id; another boot (or machine) means the pid means nothing here. */
  bootId?: string;
}

export interface DirLockOptions {
  /** Create the directory if it does not exist (compile); otherwise a missing directory is an ArtifactError. */
  create?: boolean;
}

export interface FileLockOptions {
  /** What the file is, for messages ('bundle'). */
  what?: string;
  /** The hint of the LockError when another process is writing the same file. */
  hint?: string;
}

const LOCK = '.zkonnx.lock';
const READER_PREFIX = '.zkonnx.reader-';
const JOURNAL = '.zkonnx-commit.json';
const STAGE_PREFIX = '.zkonnx-stage-';
const TMP_SUFFIX = '.tmp';
/** Temp directories that compile made directly in an artifact directory before it staged through stageArtifacts. */
const LEGACY_TEMP_PREFIXES = ['.stage-', '.compile-'];

/** The writer lock of an artifact directory (remove it by hand only when its holder is certainly gone). */
export function dirLockPath(dir: string): string {
  return join(dir, LOCK);
}

/** The lock that guards one output file (a bundle) while a process writes it. */
export function fileLockPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.zkonnx.lock`);
}

/** The commit journal: present only while a commit is being made, or after a process died making one. */
export function commitJournalPath(dir: string): string {
  return join(dir, JOURNAL);
}

// ---------------------------------------------------------------------------------------------------------
// Owners and liveness

const HOST = hostname();

function procStartOf(pid: number): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses; starttime is field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

const OWN_PROC_START = procStartOf(process.pid);

function readQuiet(read: () => string): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return read().trim() || undefined;
  } catch {
    return undefined;
  }
}

const OWN_PID_NS = readQuiet(() => readlinkSync('/proc/self/ns/pid'));
const OWN_BOOT_ID = readQuiet(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));

function newOwner(command: string): LockOwner {
  return {
    pid: process.pid, hostname: HOST, command, startedAt: new Date().toISOString(), token: randomBytes(8).toString('hex'),
    ...(OWN_PROC_START ? { procStart: OWN_PROC_START } : {}),
    ...(OWN_PID_NS ? { pidNs: OWN_PID_NS } : {}),
    ...(OWN_BOOT_ID ? { bootId: OWN_BOOT_ID } : {}),
  };
}

/**
 * Where a lock's pid cannot be checked from here: another host, another PID namespace on this host (a
 * container sharing the host name), or another boot. A record with neither namespace nor boot id (zkonnx
 * before they were recorded, or no /proc) counts as this host's when the host name matches; a record with
 * either is compared field by field (one side missing a field the other has is a mismatch).
 */
function elsewhere(o: LockOwner): 'host' | 'namespace' | 'boot' | undefined {
  if (o.hostname !== HOST) return 'host';
  if (o.pidNs === undefined && o.bootId === undefined) return undefined;
  if (o.bootId !== OWN_BOOT_ID) return 'boot';
  if (o.pidNs !== OWN_PID_NS) return 'namespace';
  return undefined;
}

/** A lock file's owner; null when the file is gone; 'unreadable' when it is not a zkonnx lock we can read. */
function readOwner(path: string): LockOwner | null | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return 'unreadable';
  }
  try {
    const o = JSON.parse(text) as LockOwner;
    if (Number.isSafeInteger(o.pid) && o.pid > 0 && typeof o.hostname === 'string' && typeof o.command === 'string' && typeof o.startedAt === 'string' && typeof o.token === 'string') return o;
  } catch {
    // fall through
  }
  return 'unreadable';
}

type Liveness = 'alive' | 'dead' | 'unknown';

/** Whether a lock's owner still runs: only decidable on its own host, in its own PID namespace and boot. */
function liveness(o: LockOwner): Liveness {
  if (elsewhere(o)) return 'unknown';
  try {
    process.kill(o.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
    // EPERM: it runs, as another user.
  }
  // The pid runs, but is it the same process? (pids are reused.)
  if (o.procStart) {
    const now = procStartOf(o.pid);
    if (now !== undefined && now !== o.procStart) return 'dead';
  }
  return 'alive';
}

const WHERE = {
  host: (o: LockOwner) => ` on host '${o.hostname}'`,
  namespace: () => ' in another PID namespace (container) on this host',
  boot: () => ' on this host name but another boot or machine',
};

function describeOwner(o: LockOwner): string {
  const where = elsewhere(o);
  return `zkonnx ${o.command} (pid ${o.pid}${where ? WHERE[where](o) : ''}, started ${o.startedAt})`;
}

function removeHint(o: LockOwner | 'unreadable', path: string): string {
  if (o === 'unreadable') return `'${path}' is not a lock zkonnx can read; if no zkonnx process is using this directory, remove it and run this again.`;
  const where = elsewhere(o);
  if (where) {
    const taken = where === 'host' ? 'on another host' : where === 'namespace' ? 'in another PID namespace (another container)' : 'under another boot id (another machine, or before a reboot)';
    return `The lock was taken ${taken}, so zkonnx cannot tell from here whether it still runs. Wait for it to finish; if it is certainly gone, remove '${path}' and run this again.`;
  }
  return `Wait for it to finish and run this again (if that process is certainly not zkonnx, remove '${path}').`;
}

// ---------------------------------------------------------------------------------------------------------
// Small synchronous file primitives (synchronous on purpose: a signal handler cannot run in between)

function rmQuiet(path: string): void {
  try {
    rmSync(path, { force: true, recursive: true });
  } catch {
    // best effort
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Create `path` with `content`, complete and atomically; false if it exists. A temp file is hard-linked into
 * place (the link fails if the target exists; readers never see a partial file). File systems without hard
 * links fall back to an exclusive create.
 */
function createExclusive(path: string, content: string): boolean {
  const tmp = `${path}.${randomBytes(4).toString('hex')}${TMP_SUFFIX}`;
  try {
    writeFileSync(tmp, content, { flag: 'wx' });
    try {
      linkSync(tmp, path);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw e;
    }
    try {
      writeFileSync(path, content, { flag: 'wx' });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  } finally {
    rmQuiet(tmp);
  }
}

/**
 * Remove `path` if it holds `token`. Safe only when no other process may remove or replace that file in between:
 * our own lock (others remove it only once we are dead), or a stale one under our takeover claim (removeStale).
 */
function unlinkIfToken(path: string, token: string): void {
  const o = readOwner(path);
  if (o && o !== 'unreadable' && o.token === token) rmQuiet(path);
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Not every platform can fsync a directory (Windows); the renames are still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Held locks: released on return, error, interruption and exit

interface Held {
  release(): void;
}

const heldLocks = new Set<Held>();
let exitHookInstalled = false;

function remember(release: () => void): Held {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const h of [...heldLocks]) h.release();
    });
  }
  let forgetInterrupt = () => {};
  const held: Held = {
    release() {
      if (!heldLocks.delete(held)) return;
      forgetInterrupt();
      release();
    },
  };
  heldLocks.add(held);
  forgetInterrupt = onInterrupt(() => held.release());
  return held;
}

// ---------------------------------------------------------------------------------------------------------
// Exclusive (writer) lock

const TAKEOVER = '.takeover-';

/**
 * Take over a stale lock (its owner is gone). A file system cannot "remove this path if it is still that file",
 * so reading the lock's token and then removing it is only safe when no one else can remove it in between:
 * exactly one process may remove the lock holding token T, the one that created LOCK.takeover-T (exclusively;
 * claims are never removed by others while T's lock exists). A lock removed never comes back (tokens are
 * random), so a process claiming T later finds another token there and leaves it. If the claimant itself died
 * (a SIGKILL within those microseconds), its claim is claimed in turn (LOCK.takeover-<claimant's token>), and so
 * on: still one live remover at a time. The remover then removes the claims of its chain; a claim left by a
 * killed process is removed by the next holder of the lock (acquireExclusive), when it can no longer matter.
 */
function removeStale(lockPath: string, stale: LockOwner, me: LockOwner): void {
  const chain: string[] = [];
  let token = stale.token;
  for (let depth = 0; depth < 8; depth++) {
    const claim = lockPath + TAKEOVER + token;
    if (createExclusive(claim, JSON.stringify(me) + '\n')) {
      try {
        unlinkIfToken(lockPath, stale.token);
      } finally {
        for (const c of [claim, ...chain]) rmQuiet(c);
      }
      return;
    }
    const claimant = readOwner(claim);
    // Gone: the lock was dealt with (claims go only after it). Alive or unreadable: someone else is on it.
    if (claimant === null || claimant === 'unreadable' || liveness(claimant) !== 'dead') return;
    chain.push(claim);
    token = claimant.token;
  }
}

function lockFsError(e: unknown, dir: string): unknown {
  return isFileSystemFailure(e) ? fileSystemError(e, 'lock', 'artifact directory', dir) : e;
}

/** Take DIR's writer lock (synchronously), refusing at once if another process reads or writes DIR. */
function acquireExclusive(dir: string, command: string): Held {
  const lockPath = dirLockPath(dir);
  const me = newOwner(command);
  const text = JSON.stringify(me) + '\n';
  let acquired = false;
  for (let attempt = 0; attempt < 20 && !acquired; attempt++) {
    try {
      acquired = createExclusive(lockPath, text);
    } catch (e) {
      throw lockFsError(e, dir);
    }
    if (acquired) break;
    const other = readOwner(lockPath);
    if (other === null) continue; // released between our two looks
    if (other !== 'unreadable' && liveness(other) === 'dead') {
      removeStale(lockPath, other, me);
      if (attempt > 0) sleepSync(2);
      continue;
    }
    throw new LockError(`The artifact directory '${dir}' is in use by ${other === 'unreadable' ? 'another zkonnx process' : describeOwner(other)}.`, { hint: removeHint(other, lockPath) });
  }
  if (!acquired) throw new LockError(`The artifact directory '${dir}' is being taken over by another zkonnx process.`, { hint: 'Run this again in a moment.' });
  const held = remember(() => unlinkIfToken(lockPath, me.token));
  try {
    // Readers registered before us must finish first; readers whose process is gone are cleared.
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch (e) {
      throw lockFsError(e, dir);
    }
    for (const name of entries) {
      if (!name.startsWith(READER_PREFIX) || name.endsWith(TMP_SUFFIX)) continue;
      const path = join(dir, name);
      const reader = readOwner(path);
      if (reader === null) continue;
      if (reader !== 'unreadable' && liveness(reader) === 'dead') {
        rmQuiet(path);
        continue;
      }
      throw new LockError(`The artifact directory '${dir}' is being read by ${reader === 'unreadable' ? 'another zkonnx process' : describeOwner(reader)}.`, { hint: removeHint(reader, path) });
    }
    // A commit left by a process that died making it: finish it. Staging directories are only ever written
    // under this lock, so any left now belong to a process that is gone; so do the staging and circom temp
    // directories of zkonnx versions that compiled outside stageArtifacts (.stage-*, .compile-*). Takeover
    // claims are spent once we hold the lock: the stale lock they were for is gone.
    if (entries.includes(JOURNAL)) rollForward(dir);
    for (const name of entries) if (isLeftover(name)) rmQuiet(join(dir, name));
  } catch (e) {
    held.release();
    throw e;
  }
  return held;
}

/** Files in an artifact directory that only a writer-lock holder makes, and that outlive only a killed one. */
function isLeftover(name: string): boolean {
  return name.startsWith(STAGE_PREFIX) || name === JOURNAL + TMP_SUFFIX || name.startsWith(LOCK + TAKEOVER) || name === `${LOCK}.takeover` ||
    LEGACY_TEMP_PREFIXES.some((p) => name.startsWith(p));
}

// ---------------------------------------------------------------------------------------------------------
// Shared (reader) lock

const UNWRITABLE = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT']);

/**
 * Register as a reader of DIR, refusing at once if a writer holds it. A stale writer lock or a journal left by a
 * dead writer is cleared first (briefly as a writer). A directory this process cannot write (read-only mount,
 * no permission, full disk) is read without a lock: the self-checks (prove verifies its proof against the
 * directory's key) still catch a key changed underneath.
 */
async function acquireShared(dir: string, command: string): Promise<Held> {
  const lockPath = dirLockPath(dir);
  for (let attempt = 0; ; attempt++) {
    const me = newOwner(command);
    const mine = join(dir, READER_PREFIX + me.token);
    const tmp = mine + TMP_SUFFIX;
    try {
      writeFileSync(tmp, JSON.stringify(me) + '\n', { flag: 'wx' });
      renameSync(tmp, mine);
    } catch (e) {
      rmQuiet(tmp);
      if (UNWRITABLE.has((e as NodeJS.ErrnoException).code ?? '')) return { release() {} };
      throw lockFsError(e, dir);
    }
    const held = remember(() => rmQuiet(mine));
    const writer = readOwner(lockPath);
    const journal = existsSync(commitJournalPath(dir));
    if (writer === null && !journal) return held;
    held.release();
    if (writer !== null && (writer === 'unreadable' || liveness(writer) !== 'dead')) {
      throw new LockError(`The artifact directory '${dir}' is in use by ${writer === 'unreadable' ? 'another zkonnx process' : describeOwner(writer)}.`, { hint: removeHint(writer, lockPath) });
    }
    // A writer died here: take its lock over (which finishes or discards its work), then read.
    try {
      acquireExclusive(dir, `${command} (recovering)`).release();
    } catch (e) {
      // Another reader may be recovering at the same moment: let it finish.
      if (!(e instanceof LockError) || attempt >= 20) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// The public API

interface LockContext {
  dirs: Map<string, LockMode>;
}

const context = new AsyncLocalStorage<LockContext>();

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The lock mode this async call chain holds on `dir`, if any. */
export function heldDirLock(dir: string): LockMode | undefined {
  const store = context.getStore();
  if (!store) return undefined;
  let key = resolve(dir);
  try {
    key = realpathSync(dir);
  } catch {
    // not there: the resolved path
  }
  return store.dirs.get(key);
}

/**
 * Run `fn` holding DIR's lock: 'exclusive' to change the directory (compile, setup, ceremony steps), 'shared'
 * to read it (prove). Refuses at once with a LockError (exit 2) naming the directory and the process holding
 * it; releases on return, throw, SIGINT/SIGTERM (via the CLI's cleanupPending) and exit. Re-entrant within
 * one async call chain (an exclusive holder may also take 'shared'). Before `fn` runs, a commit left by a
 * process that died making it is finished. `command` names the holder in others' errors.
 * Cost: a few small synchronous file operations in DIR (well under a millisecond on a local disk).
 */
export async function withDirLock<T>(dir: string, mode: LockMode, command: string, fn: () => Promise<T>, opts: DirLockOptions = {}): Promise<T> {
  if (!isDirectory(dir)) {
    if (!opts.create) {
      throw new ArtifactError(`No compiled model in '${dir}' (${existsSync(dir) ? 'not a directory' : 'no such directory'}).`, { hint: 'Run `zkonnx compile <model.onnx> --out DIR` first.' });
    }
    try {
      await ensureDir(dir);
    } catch (e) {
      throw asWriteError(e, 'artifact directory', dir);
    }
  }
  const key = realpathSync(dir);
  const outer = context.getStore();
  const have = outer?.dirs.get(key);
  if (have) {
    if (mode === 'exclusive' && have === 'shared') {
      throw new LockError(`'${dir}' is being read by this same call chain (${command} inside a reader): it cannot also change it.`);
    }
    return fn();
  }
  const held = mode === 'exclusive' ? acquireExclusive(dir, command) : await acquireShared(dir, command);
  try {
    return await context.run({ dirs: new Map([...(outer?.dirs ?? []), [key, mode]]) }, fn);
  } finally {
    held.release();
  }
}

/**
 * Run `fn` while holding a lock on the output file `path` (DIR/.NAME.zkonnx.lock): a second process writing the
 * same file is refused at once with a LockError naming it, instead of silently overwriting. Writing the same
 * file one run after another is fine. File-system failures (read-only, full, not a directory) become a
 * FileSystemError naming `path`.
 */
export async function withFileLock<T>(path: string, command: string, fn: () => Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  const what = opts.what ?? 'file';
  const lockPath = fileLockPath(path);
  const me = newOwner(command);
  let acquired = false;
  try {
    await ensureDir(dirname(path));
    for (let attempt = 0; attempt < 20 && !acquired; attempt++) {
      acquired = createExclusive(lockPath, JSON.stringify(me) + '\n');
      if (acquired) break;
      const other = readOwner(lockPath);
      if (other === null) continue;
      if (other !== 'unreadable' && liveness(other) === 'dead') {
        removeStale(lockPath, other, me);
        continue;
      }
      throw new LockError(`The ${what} '${path}' is being written by ${other === 'unreadable' ? 'another zkonnx process' : describeOwner(other)}.`, {
        hint: opts.hint ?? removeHint(other, lockPath),
      });
    }
  } catch (e) {
    throw asWriteError(e, what, path);
  }
  if (!acquired) throw new LockError(`The ${what} '${path}' is being taken over by another zkonnx process.`, { hint: 'Run this again in a moment.' });
  const held = remember(() => unlinkIfToken(lockPath, me.token));
  try {
    return await fn();
  } finally {
    held.release();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Staged commits

/**
 * The artifacts a commit may replace: files directly in the artifact directory, and the witness generator
 * ('wasm': the whole circuit_js directory is staged and replaced).
 */
export type StageableKind = Exclude<ArtifactKind, 'bundle'>;

/** In commit order: the manifest, which says what the rest is, last. */
const STAGEABLE: readonly StageableKind[] = ['circom', 'model', 'r1cs', 'sym', 'wasm', 'zkey', 'vk', 'manifest'];

/** The entry of DIR that holds artifact `kind`: its file, or for 'wasm' the circuit_js directory. */
function entryOf(kind: StageableKind): string {
  return artifactPath('.', kind).split(/[\\/]/)[0]!;
}

const STAGEABLE_NAMES = new Set(STAGEABLE.map(entryOf));
/** Where a replaced (or dropped) directory is moved, inside the stage, on its way out. */
const OLD_SUFFIX = '.old';

interface Journal {
  format: 'zkonnx-commit';
  stage: string;
  /**
   * Entries of DIR moved into DIR/<stage>/<name>.old first (artifacts the new state no longer has, such as
   * circuit_js after a compile without a witness generator). Absent in journals before it existed.
   */
  remove?: string[];
  /**
   * Base names, moved from DIR/<stage>/<name> to DIR/<name> in this order. A directory (circuit_js) cannot be
   * renamed over another, so the old one is first moved into the stage (<name>.old), then the new one in: a crash
   * between leaves the new one in the stage and the journal, and the roll-forward moves it in.
   */
  files: string[];
}

/** Move DIR/name into the stage as name.old (a directory cannot be renamed over; a file need not be kept). */
function moveAside(dir: string, stage: string, name: string): void {
  const to = join(dir, name);
  if (!existsSync(to)) return;
  const aside = join(dir, stage, name + OLD_SUFFIX);
  rmSync(aside, { recursive: true, force: true });
  renameSync(to, aside);
}

/** fsync a staged file, or a staged directory's files and the directory itself. */
function fsyncTree(path: string): void {
  if (statSync(path).isDirectory()) {
    for (const f of readdirSync(path)) fsyncTree(join(path, f));
    fsyncDir(path);
    return;
  }
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Finish a commit a dead process left (under the writer lock). Idempotent: a file already moved is skipped. */
function rollForward(dir: string): void {
  const path = commitJournalPath(dir);
  let j: Journal;
  try {
    j = JSON.parse(readFileSync(path, 'utf8')) as Journal;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    j = undefined as unknown as Journal;
  }
  // Only names zkonnx writes: a planted journal must not move files anywhere else.
  const valid = j && j.format === 'zkonnx-commit' && typeof j.stage === 'string' && /^\.zkonnx-stage-[0-9a-f]+$/.test(j.stage) &&
    Array.isArray(j.files) && j.files.every((f) => typeof f === 'string' && STAGEABLE_NAMES.has(f)) &&
    (j.remove === undefined || (Array.isArray(j.remove) && j.remove.every((f) => typeof f === 'string' && STAGEABLE_NAMES.has(f) && !j.files.includes(f))));
  if (!valid) {
    throw new ArtifactError(`'${path}' is not a zkonnx commit journal.`, { hint: `Remove it, check the directory's keys (run \`zkonnx setup ${dir}\` if in doubt), and run this again.` });
  }
  try {
    for (const f of j.remove ?? []) moveAside(dir, j.stage, f);
    for (const f of j.files) {
      const from = join(dir, j.stage, f);
      if (!existsSync(from)) continue; // moved already
      if (statSync(from).isDirectory()) moveAside(dir, j.stage, f);
      renameSync(from, join(dir, f));
    }
    fsyncDir(dir);
    unlinkSync(path);
  } catch (e) {
    throw asWriteError(e, 'artifact directory', dir);
  }
  rmQuiet(join(dir, j.stage));
}

/** New artifact files being built beside the current ones, committed together or not at all. */
export interface ArtifactStage {
  /** The staging directory (inside the artifact directory, so the final renames stay on one file system). */
  readonly dir: string;
  /**
   * Where to build the new file of `kind` (it replaces artifactPath(dir, kind) at commit). For 'wasm', the
   * whole directory around it (stage.dir/circuit_js) replaces DIR/circuit_js.
   */
  path(kind: StageableKind): string;
  /** Write the new file of `kind`. */
  write(kind: StageableKind, data: string | Uint8Array): Promise<void>;
  /** Remove the directory's current `kind` at commit (anything staged for it is dropped too). */
  drop(kind: StageableKind): void;
  /**
   * Replace the artifacts with every staged file, all or nothing: even if the process is killed during the
   * commit, the next zkonnx process that opens the directory completes it.
   */
  commit(): Promise<void>;
  /** Drop the staged files (a no-op after commit). */
  discard(): void;
}

/**
 * Start staging new artifact files for `dir`. Call under withDirLock(dir, 'exclusive', ...). Until commit(),
 * the directory's current files are untouched; an interruption (or discard) removes the staged ones.
 */
export async function stageArtifacts(dir: string): Promise<ArtifactStage> {
  if (heldDirLock(dir) !== 'exclusive') throw new Error(`stageArtifacts('${dir}') needs withDirLock(dir, 'exclusive', ...) around it.`);
  const name = STAGE_PREFIX + randomBytes(6).toString('hex');
  const stageDir = join(dir, name);
  try {
    mkdirSync(stageDir);
  } catch (e) {
    throw asWriteError(e, 'artifact directory', dir);
  }
  const forget = trackTemp(stageDir);
  let state: 'open' | 'committed' | 'discarded' = 'open';
  const dropped = new Set<string>();
  const pathOf = (kind: StageableKind) => artifactPath(stageDir, kind);
  return {
    dir: stageDir,
    path: pathOf,
    async write(kind, data) {
      try {
        await ensureDir(dirname(pathOf(kind)));
        await writeFile(pathOf(kind), data);
      } catch (e) {
        throw asWriteError(e, 'artifact directory', dir);
      }
    },
    drop(kind) {
      dropped.add(entryOf(kind));
      rmQuiet(join(stageDir, entryOf(kind)));
    },
    async commit() {
      if (state !== 'open') throw new Error('This stage was already committed or discarded.');
      const files = STAGEABLE.map(entryOf).filter((f) => existsSync(join(stageDir, f)));
      const remove = [...dropped].filter((f) => !files.includes(f));
      // Data first, on disk before the journal that points at it (power loss must not leave empty keys).
      try {
        for (const f of files) fsyncTree(join(stageDir, f));
        fsyncDir(stageDir);
        // From here to the end: synchronous, so no signal handler runs in between.
        const journal: Journal = { format: 'zkonnx-commit', stage: name, ...(remove.length ? { remove } : {}), files };
        const jtmp = commitJournalPath(dir) + TMP_SUFFIX;
        const fd = openSync(jtmp, 'w');
        try {
          writeFileSync(fd, JSON.stringify(journal) + '\n');
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(jtmp, commitJournalPath(dir));
        // The journal now owns the staged files: an interruption must not remove them.
        state = 'committed';
        forget();
        fsyncDir(dir);
        rollForward(dir);
      } catch (e) {
        throw asWriteError(e, 'artifact directory', dir);
      }
    },
    discard() {
      if (state !== 'open') return;
      state = 'discarded';
      rmQuiet(stageDir);
      forget();
    },
  };
}

/**
 * Finish a commit that a process which died left in `dir`, if there is one (takes the writer lock briefly;
 * waits up to about a second for a live writer that is committing right now). readManifest calls it.
 */
export async function recoverArtifactDir(dir: string): Promise<void> {
  for (let attempt = 0; existsSync(commitJournalPath(dir)); attempt++) {
    if (heldDirLock(dir) === 'exclusive') return void rollForward(dir);
    try {
      await withDirLock(dir, 'exclusive', 'recover', async () => {});
      return;
    } catch (e) {
      if (!(e instanceof LockError) || attempt >= 40) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
