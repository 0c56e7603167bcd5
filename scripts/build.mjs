#!/usr/bin/env node
// Build the published package: src/ -> dist/ (ESM JavaScript, .d.ts, source maps) with tsc.
//
// Plain JavaScript so it runs from `prepare` (npm ci, npm pack, git installs) before anything else exists.
// It builds into a temporary folder and swaps it in, so an interrupted build never leaves half a dist/.
// tsc rewrites `./x.ts` imports to `./x.js` in JavaScript but not in declarations; this script does it
// there, so consumers' TypeScript resolves the .d.ts files without allowImportingTsExtensions.
//
//   node scripts/build.mjs             build
//   node scripts/build.mjs --if-stale  build only when a source file is newer than the last build
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const stamp = join(dist, '.build-stamp');
const inputs = [join(root, 'src'), join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json')];

function* files(p) {
  if (statSync(p).isDirectory()) for (const e of readdirSync(p)) yield* files(join(p, e));
  else yield p;
}

/** The newest mtime of the inputs, folders included: adding, removing or renaming a file changes its folder's. */
function newestInput() {
  let t = 0;
  const walk = (p) => {
    const st = statSync(p);
    t = Math.max(t, st.mtimeMs);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  for (const i of inputs) walk(i);
  return t;
}

if (process.argv.includes('--if-stale') && existsSync(stamp) && statSync(stamp).mtimeMs >= newestInput()) process.exit(0);

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.error('zkonnx build: TypeScript is not installed (it is a dev dependency: run `npm install` in the repository).');
  process.exit(2);
}

const tmp = join(root, `dist.tmp-${process.pid}`);
rmSync(tmp, { recursive: true, force: true });
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', tmp], { stdio: 'inherit' });
  // Declarations keep the source's `.ts` specifiers; point them at the emitted `.js`/`.d.ts` pair.
  const tsSpecifier = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+?)\.ts(['"])/g;
  for (const f of files(tmp)) {
    if (!f.endsWith('.d.ts')) continue;
    const text = readFileSync(f, 'utf8');
    const fixed = text.replace(tsSpecifier, '$1$2.js$3');
    if (fixed !== text) writeFileSync(f, fixed);
  }
  writeFileSync(join(tmp, '.build-stamp'), new Date().toISOString() + '\n');
  const old = join(root, `dist.old-${process.pid}`);
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(tmp, dist);
  rmSync(old, { recursive: true, force: true });
} catch (e) {
  rmSync(tmp, { recursive: true, force: true });
  console.error(`zkonnx build failed: ${e.message}`);
  process.exit(1);
}
