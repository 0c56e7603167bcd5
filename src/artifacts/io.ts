/** File helpers: atomic writes (temp file + rename, so an interrupted run leaves nothing half-written), hashing. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileSystemError, InputError, isFileSystemFailure } from '../errors.ts';

/** Cleanups for work in progress (temp files, child processes), run by cleanupPending() on interruption. */
const pending = new Set<() => void>();

/** Register a synchronous cleanup; call the returned function once the work is done. */
export function onInterrupt(cleanup: () => void): () => void {
  pending.add(cleanup);
  return () => void pending.delete(cleanup);
}

/** Remember a temp file or dir until the returned function is called (or the process is interrupted). */
export function trackTemp(path: string): () => void {
  // Retried: an asynchronous write already under way when the signal came can add a file to a directory being
  // removed, and a single pass then fails with ENOTEMPTY (the directory was left behind).
  return onInterrupt(() => rmSync(path, { force: true, recursive: true, maxRetries: 5, retryDelay: 20 }));
}

/** Run every pending cleanup (call from a SIGINT/SIGTERM handler). */
export function cleanupPending(): void {
  for (const c of [...pending]) {
    try {
      c();
    } catch {
      // best effort: keep cleaning the rest
    }
  }
  pending.clear();
}

export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * `mkdir -p` without Node's recursive mkdir, which loops forever on some paths (a missing directory under
 * /proc). Creates missing parents one by one; a file in the way is ENOTDIR, as the system would say.
 */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await stat(dir)).isDirectory()) return;
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR', syscall: 'mkdir', path: dir });
    }
    if (code !== 'ENOENT' || dirname(dir) === dir) throw e;
    await ensureDir(dirname(dir));
    await mkdir(dir).catch(async (e2: NodeJS.ErrnoException) => {
      if (e2.code !== 'EEXIST' || !(await stat(dir)).isDirectory()) throw e2;
    });
  }
}

/**
 * Rethrow a failed file-system call as a FileSystemError (exit 2) naming `path`, the file the caller meant to
 * write; any other error passes through unchanged.
 */
export function asWriteError(e: unknown, what: string, path: string): unknown {
  return isFileSystemFailure(e) ? fileSystemError(e, 'write', what, path) : e;
}

/**
 * Write `data` to `path` through a temp file beside it and a rename: readers see the old file or the new one,
 * never a part. File-system failures (read-only, full, a directory in the way, ...) become a FileSystemError
 * naming `path` and `what` it is; the temp file is removed.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, what = 'file'): Promise<void> {
  const tmp = tempPathFor(path);
  const forget = trackTemp(tmp);
  try {
    await ensureDir(dirname(path));
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw asWriteError(e, what, path);
  } finally {
    forget();
  }
}

/**
 * Run `produce(tmpPath)` and move its result into place only when it succeeds. File-system failures, in
 * `produce` or the move, become a FileSystemError naming `path`.
 */
export async function produceAtomic<T>(path: string, produce: (tmp: string) => Promise<T>, what = 'file'): Promise<T> {
  const tmp = tempPathFor(path);
  const forget = trackTemp(tmp);
  try {
    await ensureDir(dirname(path));
    const r = await produce(tmp);
    await rename(tmp, path);
    return r;
  } catch (e) {
    throw asWriteError(e, what, path);
  } finally {
    await rm(tmp, { force: true, recursive: true }).catch(() => {});
    forget();
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The largest JSON file zkonnx reads unless told otherwise (bundles, keys, inputs, calibration sets). */
export const MAX_JSON_FILE_BYTES = 256 * 1024 * 1024;

/**
 * A failed read as an InputError (code BAD_INPUT: a missing or unreadable input file is the caller's to fix),
 * worded as write failures are: "Cannot read bundle 'd2': it is a directory (EISDIR)."
 */
export function asReadError(e: unknown, what: string, path: string): InputError {
  if (!isFileSystemFailure(e)) {
    return new InputError(`Cannot read ${what} '${path}': ${(e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message ?? String(e)}.`, { cause: e });
  }
  const f = fileSystemError(e, 'read', what, path);
  const hint = e.code === 'EISDIR' ? f.hint : e.code === 'EACCES' || e.code === 'EPERM' ? 'Fix the file\'s permissions (zkonnx must be able to read it).' : undefined;
  return new InputError(f.shortMessage, { cause: e, hint });
}

/**
 * Read a whole file as UTF-8 text, refusing one of more than `maxBytes` bytes. A regular file is refused by
 * its size before anything is read; anything else (a device, a FIFO, a /proc file, all of which have size 0)
 * is read in chunks and refused as soon as it passes `maxBytes`, so /dev/zero costs maxBytes + 1 bytes.
 */
async function readCapped(path: string, maxBytes: number, tooLarge: (size: number | null) => Error): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (st.isFile() && st.size > maxBytes) throw tooLarge(st.size);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      // At most maxBytes + 1 bytes in all: one byte past the limit is enough to refuse.
      const want = Math.min(st.isFile() ? Math.max(st.size + 1 - total, 1) : 1 << 20, 1 << 24, maxBytes + 1 - total);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, null);
      if (bytesRead === 0) break;
      chunks.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) throw tooLarge(null);
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    await fh.close().catch(() => {});
  }
}

/**
 * Read and parse a JSON file, with errors that name the file (InputError: "Cannot read bundle 'x': it is a
 * directory (EISDIR)."). Refuses more than `maxBytes` bytes: a regular file by its size before reading it,
 * anything else (a device, FIFO or /proc file) once it has given maxBytes + 1.
 */
export async function readJsonFile(path: string, what: string, opts: { maxBytes?: number } = {}): Promise<unknown> {
  const maxBytes = opts.maxBytes ?? MAX_JSON_FILE_BYTES;
  const tooLarge = (size: number | null) =>
    new InputError(`${what} '${path}' ${size === null ? 'holds more than' : `is ${size} bytes, more than`} the ${maxBytes} bytes zkonnx reads for it.`);
  let text: string;
  try {
    text = await readCapped(path, maxBytes, tooLarge);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw asReadError(e, what, path);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`${what} '${path}' is not valid JSON: ${(e as Error).message}.`, { cause: e });
  }
}
