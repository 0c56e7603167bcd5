/**
 * The README's proving-node example, as users copy it: `zkonnx run` compiles and sets up the MNIST MLP,
 * `zkonnx serve` serves it, `curl | jq` fetches a proven inference, and `zkonnx verify` checks the bundle. Run
 * with bash in an empty folder holding only a link to examples/; `npx zkonnx` becomes this checkout's
 * bin/zkonnx.js, and the node listens on a free port instead of 8080 (the only changes).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.ts';
import { readmeExample } from './helpers/readme.ts';
import { startCommand, type ServeProcess } from './helpers/serve.ts';
import { parseVerificationKey } from '../src/verify/key.ts';
import { verifyBundle } from '../src/verify/verify.ts';

const missing = ['curl', 'jq'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
if (missing.length) {
  const msg = `*** README serve example: ${missing.join(' and ')} not installed (apt-get install ${missing.join(' ')}): ${process.env.CI ? 'failing (CI)' : 'skipped'} ***`;
  console.warn(msg);
  if (process.env.CI) describe('README proving-node example', () => it('needs curl and jq', () => expect.fail(msg)));
}

describe.skipIf(missing.length > 0)('README proving-node example', () => {
  let node: ServeProcess | undefined;
  let dir = '';
  afterAll(async () => {
    await node?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('zkonnx run, zkonnx serve, curl | jq, zkonnx verify: the bundle verifies and proves the digit', async () => {
    const lines = readmeExample('serve-curl').replace(/\\\n\s*/g, '').split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
    const cmd = (l: string) => l.replace(/#.*$/, '').trim().replace(/^npx zkonnx /, `node ${join(ROOT, 'bin', 'zkonnx.js')} `);
    const [run, serve, curl, verify] = lines;
    expect(run).toMatch(/^npx zkonnx run /);
    expect(serve).toMatch(/^npx zkonnx serve /);
    expect(curl).toMatch(/^curl .*localhost:8080\/v1\/models\/mnist-mlp\/infer.*\| jq \.bundle > b\.json$/);
    expect(verify).toMatch(/^npx zkonnx verify b\.json /);

    dir = await mkdtemp(join(tmpdir(), 'zkonnx-readme-serve-'));
    await symlink(join(ROOT, 'examples'), join(dir, 'examples'));
    const env = { ...process.env, ZKONNX_ARTIFACTS: undefined };
    const bash = (line: string) => execFileSync('bash', ['-c', line], { cwd: dir, env, encoding: 'utf8', timeout: 170_000 });
    bash(cmd(run));

    // serve, as the README says, on a free port: startCommand runs bin/zkonnx.js from the checkout, in `dir`.
    const serveArgs = cmd(serve).split(/\s+/).slice(2);
    expect(serveArgs).toEqual(['serve', '--models', 'artifacts']);
    node = await startCommand([...serveArgs.slice(0, 2), join(dir, 'artifacts'), '--port', '0']);
    const port = new URL(node.url).port;
    bash(cmd(curl).replace('localhost:8080', `localhost:${port}`));
    const out = bash(`${cmd(verify)} --json`);
    const v = JSON.parse(out) as { valid: boolean; argmax: number };
    expect(v.valid).toBe(true);
    expect(v.argmax).toBe(7);

    // The same bundle, checked by the library against the key the node serves.
    const bundle = JSON.parse(await readFile(join(dir, 'b.json'), 'utf8'));
    const vk = parseVerificationKey(await (await fetch(`${node.url}/v1/models/mnist-mlp/vk`)).json());
    expect((await verifyBundle(bundle, vk)).valid).toBe(true);
  });
});
