/**
 * zkonnx as a user installs it. `npm pack` (which builds dist/ through `prepare`), install the tarball into
 * an empty project outside this repository (no .npmrc, none of this repo's npm settings), then:
 * - the install is small and pulls no onnxruntime-node, vega or prover toolchain;
 * - plain Node imports it (ESM and require) and verifies a real bundle, without tsx;
 * - strict TypeScript compiles against its types (moduleResolution node16 and bundler);
 * - `npx zkonnx` runs; commands that need the prover toolchain say which package to install;
 * - esbuild bundles `zkonnx/verify` for browsers, and headless Chromium verifies the bundle with it.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prove } from '../src/prove/prove.ts';
import type { ProofBundle } from '../src/verify/types.ts';
import { mlpFixture } from './helpers/fixtures.ts';
import { readmeExample } from './helpers/readme.ts';
import { ROOT, runProcess, type Run } from './helpers/cli.ts';
// @ts-expect-error plain JavaScript build script without declarations
import { bundleVerifier } from '../scripts/bundle-verify.mjs';

const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const MB = 1024 * 1024;

/** The environment of a user's shell: none of the npm_* settings `npm test` passes down from this repo. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|VITEST|NODE_OPTIONS$|ZKONNX_)/i.test(k)) env[k] = v;
  return env;
}

function run(cmd: string, args: string[], cwd: string, timeout = 240_000, extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runProcess(cmd, args, { cwd, timeout, env: { ...userEnv(), ...extraEnv } });
}

function duBytes(p: string): number {
  const s = statSync(p, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return s.size;
  return readdirSync(p).reduce((a, e) => a + duBytes(join(p, e)), 0);
}

let work: string;
let project: string;
let bundle: ProofBundle;
let fxDir: string;
let fxInput: number[];

beforeAll(async () => {
  const fx = await mlpFixture('consumer-mlp', { sizes: [12, 8, 4], seed: 91, style: 'gemm' }, true);
  fxDir = fx.dir;
  fxInput = [...fx.inputs(1, 5)[0]];
  bundle = (await prove(fx.dir, Float64Array.from(fxInput))).bundle;
  work = mkdtempSync(join(tmpdir(), 'zkonnx-consumer-'));
  const pack = await run('npm', ['pack', '--pack-destination', work, '--json'], ROOT);
  if (pack.code !== 0) throw new Error(`npm pack failed: ${pack.stderr.slice(-2000)}`);
  const tgz = join(work, JSON.parse(pack.stdout)[0].filename);
  project = join(work, 'app');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  const install = await run('npm', ['install', tgz, '--no-audit', '--no-fund', '--prefer-offline'], project);
  if (install.code !== 0) throw new Error(`npm install of the tarball failed: ${install.stderr.slice(-2000)}`);
  writeFileSync(join(project, 'bundle.json'), JSON.stringify(bundle));
  cpSync(join(fx.dir, 'verification_key.json'), join(project, 'verification_key.json'));
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('installing the packed tarball', () => {
  it('stays under 60 MB, with no onnxruntime-node, vega or prover toolchain unless asked for', () => {
    const nm = join(project, 'node_modules');
    const size = duBytes(nm);
    console.log(`consumer install: ${(size / MB).toFixed(1)} MB of node_modules, ${readdirSync(nm).length} top-level entries`);
    expect(size).toBeLessThan(60 * MB);
    for (const absent of ['onnxruntime-node', 'onnxruntime-common', 'vega', 'vega-lite', 'snarkjs', 'circom2', 'tsx', 'onnx-proto', 'circomlibjs', 'ethers']) {
      expect(existsSync(join(nm, absent)), absent).toBe(false);
    }
    const pkg = JSON.parse(readFileSync(join(nm, 'zkonnx/package.json'), 'utf8'));
    expect(existsSync(join(nm, 'zkonnx', pkg.exports['.'].default))).toBe(true);
    expect(existsSync(join(nm, 'zkonnx', pkg.exports['./verify'].types))).toBe(true);
  });
});

describe('plain Node, no tsx', () => {
  it("runs the README's example (Verify in your code): valid, and refused under another pinned key", async () => {
    writeFileSync(join(project, 'readme-verify.mjs'), readmeExample('verify-node'));
    const r = await run(process.execPath, ['readme-verify.mjs'], project);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`valid: ${bundle.output.values.join(' ')}`);
    const pinned = await run(process.execPath, ['readme-verify.mjs'], project, 60_000, { ZKONNX_VK_SHA256: bundle.vkSha256 });
    expect(pinned.stdout.trim()).toBe(`valid: ${bundle.output.values.join(' ')}`);
    const other = await run(process.execPath, ['readme-verify.mjs'], project, 60_000, { ZKONNX_VK_SHA256: 'ab'.repeat(32) });
    expect(other.stdout.trim()).toMatch(/^invalid: verification key is not the expected one/);
  });

  it('imports zkonnx/verify as ESM and verifies a real bundle; a tampered output is refused', async () => {
    writeFileSync(
      join(project, 'verify.mjs'),
      `import { readFile } from 'node:fs/promises';
import { verifyBundle, parseVerificationKey, vkHash } from 'zkonnx/verify';
const vk = parseVerificationKey(await readFile('verification_key.json', 'utf8'));
const bundle = JSON.parse(await readFile('bundle.json', 'utf8'));
const good = await verifyBundle(bundle, vk, { vkSha256: await vkHash(vk) });
bundle.output.quantized[0] = String(BigInt(bundle.output.quantized[0]) + 1n);
const bad = await verifyBundle(bundle, vk);
console.log(JSON.stringify({ good, bad }));
`,
    );
    const r = await run(process.execPath, ['verify.mjs'], project);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.good.valid).toBe(true);
    expect(out.good.output).toEqual(bundle.output.values);
    expect(out.bad.valid).toBe(false);
    expect(out.bad.reason).toMatch(/output 0/);
  });

  it('imports the full API without the prover toolchain installed', async () => {
    writeFileSync(
      join(project, 'full.mjs'),
      `import * as z from 'zkonnx';
import { readFile } from 'node:fs/promises';
const vk = await z.readVerificationKey('verification_key.json');
const r = await z.verifyBundle(JSON.parse(await readFile('bundle.json', 'utf8')), vk);
console.log(JSON.stringify({ valid: r.valid, fns: ['compileModel', 'prove', 'setupKeys', 'loadOnnx', 'runModel'].map((k) => typeof z[k]), version: z.ZKONNX_VERSION }));
`,
    );
    const r = await run(process.execPath, ['full.mjs'], project);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.valid).toBe(true);
    expect(out.fns).toEqual(['function', 'function', 'function', 'function', 'function']);
  });

  it('loads with require() from CommonJS (zkonnx/verify and the full API)', async () => {
    writeFileSync(
      join(project, 'verify.cjs'),
      `const { verifyBundle, parseVerificationKey } = require('zkonnx/verify');
const { compileModel, prove } = require('zkonnx');
const fs = require('node:fs');
verifyBundle(JSON.parse(fs.readFileSync('bundle.json', 'utf8')), parseVerificationKey(fs.readFileSync('verification_key.json', 'utf8')))
  .then((r) => console.log(JSON.stringify({ valid: r.valid, full: [typeof compileModel, typeof prove] })));
`,
    );
    const r = await run(process.execPath, ['--no-warnings', 'verify.cjs'], project);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ valid: true, full: ['function', 'function'] });
  });
});

describe('strict TypeScript against the published types', () => {
  // The README's TypeScript example, and the types it leans on.
  const source = `${readmeExample('verify-ts')}
import { calldata, type VerifyResult, type ZkonnxVerificationKey, type VerifierCalldata } from 'zkonnx/verify';
export async function check(bundle: ProofBundle, vk: ZkonnxVerificationKey): Promise<number[] | null> {
  const r: VerifyResult = await verifyBundle(bundle, vk);
  const call: VerifierCalldata = calldata(bundle);
  return r.valid && call.calldata.startsWith('0x') ? r.output : null;
}
`;
  const fullSource = `import { compileModel, prove, verifyBundle, readVerificationKey, ZkonnxError, type ProofBundle } from 'zkonnx';
export async function run(dir: string, input: number[]): Promise<boolean> {
  await compileModel('model.onnx', { out: dir, calibration: [Float64Array.from(input)] });
  const { bundle }: { bundle: ProofBundle } = await prove(dir, input);
  try {
    return (await verifyBundle(bundle, await readVerificationKey(dir + '/verification_key.json'))).valid;
  } catch (e) {
    if (e instanceof ZkonnxError) return false;
    throw e;
  }
}
`;

  for (const [resolution, module] of [['node16', 'node16'], ['bundler', 'esnext']] as const) {
    it(`compiles with moduleResolution ${resolution}, no skipLibCheck`, async () => {
      const dir = join(project, `ts-${resolution}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'verify.ts'), source);
      writeFileSync(join(dir, 'full.ts'), fullSource);
      // The browser-side file compiles with no Node types at all; the Node API file with @types/node.
      const base = { strict: true, noEmit: true, skipLibCheck: false, module, moduleResolution: resolution, target: 'es2022', exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true };
      writeFileSync(join(dir, 'tsconfig.browser.json'), JSON.stringify({ compilerOptions: { ...base, lib: ['es2022', 'dom'], types: [] }, files: ['verify.ts'] }));
      writeFileSync(join(dir, 'tsconfig.node.json'), JSON.stringify({ compilerOptions: { ...base, lib: ['es2022'], types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] }, files: ['full.ts'] }));
      // A package.json with "type": "module" above makes node16 treat the files as ES modules.
      for (const cfg of ['tsconfig.browser.json', 'tsconfig.node.json']) {
        const r = await run(process.execPath, [TSC, '-p', cfg], dir);
        expect(r.stdout + r.stderr, cfg).toBe('');
        expect(r.code, cfg).toBe(0);
      }
    });
  }

  it('leaks no untyped module into consumers: every import in the published .d.ts resolves to a typed package', () => {
    const root = join(project, 'node_modules/zkonnx/dist');
    const dts = (p: string): string[] => (statSync(p).isDirectory() ? readdirSync(p).flatMap((e) => dts(join(p, e))) : p.endsWith('.d.ts') ? [p] : []);
    const importsOf = (f: string): { bare: string[]; local: string[] } => {
      const text = readFileSync(f, 'utf8');
      const specs = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]/gm), ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
      return {
        bare: specs.filter((m) => !m.startsWith('.')),
        local: specs.filter((m) => m.startsWith('.')).map((m) => join(dirname(f), m.replace(/\.js$/, '.d.ts'))),
      };
    };
    // What the main entry points' declarations reach: no package but node's built-ins.
    const seen = new Set<string>();
    const reached = new Set<string>();
    const walk = (f: string): void => {
      if (seen.has(f) || !existsSync(f)) return;
      seen.add(f);
      const { bare, local } = importsOf(f);
      bare.forEach((m) => reached.add(m));
      local.forEach(walk);
    };
    walk(join(root, 'index.d.ts'));
    walk(join(root, 'verify/index.d.ts'));
    expect(seen.size).toBeGreaterThan(10);
    expect([...reached].filter((m) => !m.startsWith('node:'))).toEqual([]);
    // Anywhere in dist: yargs (the CLI's declarations) and the proving node's optional, typed peers (only from
    // zkonnx/serve and the CLI).
    const allowed = new Set(['yargs', 'fastify', '@fastify/swagger', 'pino', 'prom-client', 'bullmq', 'ioredis']);
    const bare = new Set(dts(root).flatMap((f) => importsOf(f).bare).filter((m) => !m.startsWith('node:')));
    expect([...bare].filter((m) => !allowed.has(m))).toEqual([]);
  });
});

describe('the CLI from the installed package', () => {
  it('npx zkonnx --help lists the commands', async () => {
    const r = await run('npx', ['--no-install', 'zkonnx', '--help'], project);
    expect(r.code).toBe(0);
    for (const c of ['compile', 'setup', 'prove', 'verify', 'inspect', 'run', 'bench']) expect(r.stdout).toContain(`zkonnx ${c}`);
  });

  it('verifies a bundle with nothing but the package installed', async () => {
    const r = await run('npx', ['--no-install', 'zkonnx', 'verify', 'bundle.json', '--vk', 'verification_key.json', '--json'], project);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).valid).toBe(true);
  });

  it('commands that need the prover toolchain name the packages to install (exit 2, no stack trace)', async () => {
    // compile: import, quantize and emit run; the circom compiler (circom2) is what is missing.
    writeFileSync(join(project, 'model.onnx'), readFileSync(join(ROOT, 'examples/mnist-mlp/model.onnx')));
    cpSync(join(ROOT, 'examples/mnist-mlp/calibration.json'), join(project, 'calibration.json'));
    const c = await run('npx', ['--no-install', 'zkonnx', 'compile', 'model.onnx', '--calibration', 'calibration.json', '--circom', 'wasm'], project);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/'circom2'/);
    expect(c.stderr).toMatch(/npm install snarkjs circom2/);
    expect(c.stderr).not.toMatch(/\n\s+at /);
    // prove: a compiled, keyed directory proves up to the Groth16 step, which needs snarkjs.
    cpSync(fxDir, join(project, 'compiled'), { recursive: true });
    writeFileSync(join(project, 'input.json'), JSON.stringify(fxInput));
    const p = await run('npx', ['--no-install', 'zkonnx', 'prove', 'compiled', '--input', 'input.json'], project);
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/'snarkjs'/);
    expect(p.stderr).toMatch(/npm install snarkjs circom2/);
    expect(p.stderr).not.toMatch(/\n\s+at /);
  });

  it('serve and worker name the proving node\'s optional packages when they are missing (exit 2, no stack trace)', async () => {
    const s = await run('npx', ['--no-install', 'zkonnx', 'serve', '--port', '0'], project);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/'fastify'/);
    expect(s.stderr).toMatch(/npm install fastify @fastify\/swagger prom-client pino/);
    expect(s.stderr).not.toMatch(/\n\s+at /);
    const w = await run('npx', ['--no-install', 'zkonnx', 'worker', '--redis', 'redis://127.0.0.1:1'], project);
    expect(w.code).toBe(2);
    expect(w.stderr).toMatch(/npm install bullmq ioredis/);
  });
});

describe('zkonnx/verify in a browser', () => {
  let server: Server | undefined;
  afterAll(() => server?.close());

  it('bundles with esbuild for the browser (no Node built-ins) and verifies a real bundle in headless Chromium', async () => {
    const out = join(project, 'www');
    mkdirSync(out, { recursive: true });
    const size = await bundleVerifier({ cwd: project, outfile: join(out, 'zkonnx-verify.js') });
    console.log(`zkonnx/verify browser bundle: ${(size.bytes / 1024).toFixed(1)} KB minified, ${(size.gzipBytes / 1024).toFixed(1)} KB gzipped`);
    expect(size.gzipBytes).toBeLessThan(62 * 1024); // the hand-made bundle this replaces: 62 KB gzipped
    const bundleText = readFileSync(join(out, 'zkonnx-verify.js'), 'utf8');
    expect(bundleText).not.toMatch(/snarkjs|circom_runtime|onnx-proto|onnxruntime|protobuf/);

    const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
    if (!chromium) {
      const msg = 'Chromium is not installed (Debian package `chromium`; .ci/run installs it): the browser verification was NOT run.';
      if (process.env.CI) throw new Error(msg);
      console.warn(`SKIPPED: ${msg}`);
      return;
    }
    // The README's page (Verify in a browser), served with the real bundle in ok/ and a tampered one in bad/.
    // Tampered so that only the pairing can tell: pi_a replaced by another valid curve point (pi_c).
    const tampered = structuredClone(bundle);
    tampered.proof.pi_a = [...bundle.proof.pi_c];
    for (const [sub, b] of [['ok', bundle], ['bad', tampered]] as const) {
      mkdirSync(join(out, sub));
      writeFileSync(join(out, sub, 'index.html'), `<!doctype html><meta charset="utf-8"><title>zkonnx verify</title><body></body>\n${readmeExample('verify-browser')}`);
      writeFileSync(join(out, sub, 'bundle.json'), JSON.stringify(b));
      cpSync(join(project, 'verification_key.json'), join(out, sub, 'verification_key.json'));
      cpSync(join(out, 'zkonnx-verify.js'), join(out, sub, 'zkonnx-verify.js'));
    }
    const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json' };
    server = createServer((req, res) => {
      const name = (req.url ?? '/').split('?')[0].replace(/^\/+/, '') || 'index.html';
      const file = join(out, name);
      if (!file.startsWith(out) || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': types[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const { chromium: pw } = await import('playwright-core');
    const browser = await pw.launch({ executablePath: chromium, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const pageText = async (sub: string) => {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.goto(`http://127.0.0.1:${port}/${sub}/index.html`);
        await page.waitForFunction(() => /^(valid|invalid):/.test(document.body.textContent ?? ''), null, { timeout: 60_000 });
        expect(errors).toEqual([]);
        expect(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined');
        return page.evaluate(() => document.body.textContent);
      };
      expect(await pageText('ok')).toBe(`valid: ${bundle.output.values.join(' ')}`);
      expect(await pageText('bad')).toMatch(/^invalid: pairing check failed/);
    } finally {
      await browser.close();
    }
  });
});
