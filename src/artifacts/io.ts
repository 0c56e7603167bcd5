/** File helpers: atomic writes (temp file + rename, so an interrupted run leaves nothing half-written), hashing. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, rmSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors.ts';

/** Cleanups for work in progress (temp files, child processes), run by cleanupPending() on interruption. */
const pending = new Set<() => void>();

/** Register a synchronous cleanup; call the returned function once the work is done. */
export function onInterrupt(cleanup: () => void): () => void {
  pending.add(cleanup);
  return () => void pending.delete(cleanup);
}

/** Remember a temp file or dir until the returned function is called (or the process is interrupted). */
export function trackTemp(path: string): () => void {
  return onInterrupt(() => rmSync(path, { force: true, recursive: true }));
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

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const forget = trackTemp(tmp);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    forget();
  }
}

/** Run `produce(tmpPath)` and move its result into place only when it succeeds. */
export async function produceAtomic<T>(path: string, produce: (tmp: string) => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  const forget = trackTemp(tmp);
  try {
    const r = await produce(tmp);
    await rename(tmp, path);
    return r;
  } finally {
    await rm(tmp, { force: true, recursive: true });
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

/** Read and parse a JSON file, with errors that name the file; refuses files over `maxBytes` before reading them. */
export async function readJsonFile(path: string, what: string, opts: { maxBytes?: number } = {}): Promise<unknown> {
  const maxBytes = opts.maxBytes ?? MAX_JSON_FILE_BYTES;
  let text: string;
  try {
    const size = (await stat(path)).size;
    if (size > maxBytes) {
      throw new InputError(`${what} '${path}' is ${size} bytes, more than the ${maxBytes} bytes zkonnx reads for it.`);
    }
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`Cannot read ${what} '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`${what} '${path}' is not valid JSON: ${(e as Error).message}.`, { cause: e });
  }
}
