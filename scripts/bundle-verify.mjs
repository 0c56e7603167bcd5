#!/usr/bin/env node
// Bundle `zkonnx/verify` for browsers with esbuild, as a consumer's bundler would, and print its size.
//
//   node scripts/bundle-verify.mjs [OUT.js]      (npm run size:verify)
//
// Run from the repository it resolves `zkonnx/verify` to this package's build (dist/, `npm run build`);
// test/consumer.test.ts calls bundleVerifier() inside a project that installed the packed tarball.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Bundle `import * from 'zkonnx/verify'` (resolved from `cwd`) into one minified ES module for browsers.
 * Fails if anything in it needs a Node built-in. Returns its size, raw and gzipped.
 */
export async function bundleVerifier({ cwd, outfile }) {
  const dir = resolve(cwd);
  await build({
    stdin: { contents: "export * from 'zkonnx/verify';", resolveDir: dir, loader: 'js' },
    absWorkingDir: dir,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile,
    logLevel: 'silent',
  });
  const bytes = readFileSync(outfile);
  return { bytes: bytes.length, gzipBytes: gzipSync(bytes, { level: 9 }).length };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = mkdtempSync(join(tmpdir(), 'zkonnx-verify-'));
  const outfile = process.argv[2] ?? join(dir, 'zkonnx-verify.js');
  try {
    const s = await bundleVerifier({ cwd: resolve(fileURLToPath(import.meta.url), '../..'), outfile });
    console.log(`zkonnx/verify for browsers: ${(s.bytes / 1024).toFixed(1)} KB minified, ${(s.gzipBytes / 1024).toFixed(1)} KB gzipped${process.argv[2] ? ` (${outfile})` : ''}`);
  } finally {
    if (!process.argv[2]) rmSync(dir, { recursive: true, force: true });
  }
}
