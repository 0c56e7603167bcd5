/** Child processes for tests: the real CLI entry point, and any command, as a user's shell would run them. */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);

export interface Run {
  /** Exit code; -1 when the process did not exit by itself (killed, timed out, not started). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command to completion; never rejects. */
export function runProcess(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, timeout: opts.timeout ?? 0, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** The real entry point (bin/zkonnx.js, run from dist/, which the global setup keeps built), with a 2-minute limit. */
export function cli(...args: string[]): Promise<Run> {
  return runProcess(process.execPath, ['bin/zkonnx.js', ...args], { timeout: 120_000 });
}

/** sha256 of every file under `dir` (relative path -> hex), to show a command left a directory as it was. */
export async function sha256Tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    out[p.slice(dir.length + 1)] = createHash('sha256').update(await readFile(p)).digest('hex');
  }
  return out;
}
