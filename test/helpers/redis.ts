/**
 * A real redis-server for the BullMQ tests: started on a free loopback port with no persistence in a temp dir,
 * ready once it answers PING, stopped (SIGTERM, then SIGKILL) after the file.
 *
 * When redis-server (Debian: `apt-get install redis-server`, which .ci/run does) or the Redis client library
 * BullMQ needs (ioredis) is missing: in CI (CI=true) the Redis tests FAIL saying what is missing and how to
 * install it; locally they are skipped with a loud message.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';

/** Why the Redis tests cannot run here (undefined when they can). */
export function redisMissing(): string | undefined {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    return 'redis-server is not installed (or not on PATH). Install it: `apt-get update && apt-get install -y redis-server` (Debian/Ubuntu; .ci/run does this), or `brew install redis`.';
  }
  try {
    createRequire(createRequire(import.meta.url).resolve('bullmq')).resolve('ioredis');
  } catch {
    return "BullMQ's Redis client (the ioredis package) is not installed. It must be a dependency of zkonnx: `npm install ioredis@5`.";
  }
  return undefined;
}

/**
 * `describe` for tests that need a real redis-server: runs them when it is there; otherwise fails in CI with the
 * reason, and skips them (loudly) locally.
 */
export function describeWithRedis(name: string, body: () => void): void {
  const missing = redisMissing();
  if (!missing) {
    describe(name, body);
  } else if (process.env.CI) {
    describe(name, () => {
      it('needs a real redis-server', () => {
        throw new Error(`Cannot run the Redis/BullMQ tests: ${missing}`);
      });
    });
  } else {
    console.warn(`\n*** SKIPPED '${name}': ${missing} (in CI this fails) ***\n`);
    describe.skip(name, body);
  }
}

export interface RedisServer {
  url: string;
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** True when a Redis at 127.0.0.1:port answers PING with PONG. */
export function ping(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let data = '';
    const end = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => end(false));
    sock.once('error', () => end(false));
    sock.on('data', (d) => {
      data += d.toString();
      if (data.includes('\r\n')) end(data.startsWith('+PONG'));
    });
    sock.once('connect', () => sock.write('PING\r\n'));
  });
}

/** Start redis-server on a free loopback port; resolves once it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'zkonnx-redis-'));
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    proc.stdout!.on('data', (d) => (log += d));
    proc.stderr!.on('data', (d) => (log += d));
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    const stop = async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    };
    const end = Date.now() + 10_000;
    while (Date.now() < end && proc.exitCode === null) {
      if (await ping(port, 300)) return { url: `redis://127.0.0.1:${port}`, port, proc, stop };
      await new Promise((r) => setTimeout(r, 50));
    }
    await stop();
    // Another process took the port between freePort() and the bind: try another one.
    if (attempt < 3 && /Address already in use/i.test(log)) continue;
    throw new Error(`redis-server did not start on port ${port}:\n${log.slice(-2000)}`);
  }
}
