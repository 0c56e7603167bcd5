#!/usr/bin/env node
// The zkonnx command line, run from the build in dist/ (`npm run build`; npm ci, npm pack and git installs
// build it through `prepare`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('zkonnx: the package is not built (dist/ is missing). Run `npm run build` in the zkonnx folder.\n');
  process.exitCode = 2;
} else {
  const { main } = await import(entry.href);
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
  // Exit only once stdout and stderr have flushed: on a pipe, writes are asynchronous, and process.exit() right
  // after a large --json write would cut it (at 64 KiB, the pipe's buffer). A write's callback runs after every
  // earlier write on the stream has been handed to the system. Then exit, so that a handle something left open
  // (a worker, a timer) cannot keep the command alive.
  const flushed = (s) => new Promise((resolve) => s.write('', () => resolve()));
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}
