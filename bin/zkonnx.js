#!/usr/bin/env node
// The zkonnx command line, run from the build in dist/ (`npm run build`; npm ci, npm pack and git installs
// build it through `prepare`).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('zkonnx: the package is not built (dist/ is missing). Run `npm run build` in the zkonnx folder.\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exit(await main(process.argv.slice(2)));
