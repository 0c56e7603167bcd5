/**
 * `zkonnx serve` in its embedded mode, as a user runs it: real `node bin/zkonnx.js serve` processes (prover pool
 * of child processes), HTTP over loopback. Concurrent proofs that verify (library and `zkonnx verify`), the 202 +
 * poll path, 400s that name the field (a body over the limit too), 401/403 uploads and an upload that compiles and serves, 429 with
 * Retry-After, a job past its time limit (TIMEOUT), /openapi.json and /metrics, SIGTERM while a job runs.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../src/artifacts/manifest.ts';
import { compileModel } from '../src/compile/model.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { flattenInput } from '../src/io/input.ts';
import { quantizeModelInput } from '../src/ir/io.ts';
import { randomMlp } from '../src/onnx/builder.ts';
import { readVerificationKey } from '../src/prove/prove.ts';
import type { ProofBundle, ZkonnxVerificationKey } from '../src/verify/types.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { cli, runProcess } from './helpers/cli.ts';
import { getJson, pollJob, postJson, randomRow, setUpModel, startServe, type ServedModel, type ServeProcess } from './helpers/serve.ts';

const TOKEN = 'test-token-0123456789';
let work: string;
let root: string;
let tiny: ServedModel;
let big: ServedModel;
let hashed: ServedModel;
let node: ServeProcess;
let trustedVk: ZkonnxVerificationKey;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'zkonnx-serve-'));
  root = join(work, 'models');
  tiny = await setUpModel(root, 'tiny');
  // ~4,600 constraints: a proof takes a few tenths of a second, far above the 0.1 s limit of the timeout test.
  big = await setUpModel(root, 'big', { sizes: [64, 64, 64, 10], seed: 3 });
  hashed = await setUpModel(root, 'hashed', { seed: 21, visibility: { input: 'hashed' } });
  trustedVk = await readVerificationKey(artifactPath(tiny.dir, 'vk'));
  // Listed with their status, not served: a compiled model without a key, and a folder that is no model.
  const nokeyOnnx = join(work, 'nokey.onnx');
  await writeFile(nokeyOnnx, randomMlp({ sizes: [4, 3], seed: 5, style: 'gemm' }).bytes);
  await compileModel(nokeyOnnx, { out: join(root, 'nokey'), calibration: [Float64Array.from(randomRow(4, 1)), Float64Array.from(randomRow(4, 2))] });
  await mkdir(join(root, 'notes'));
  node = await startServe(['--port', '0', '--models', root, '--concurrency', '2', '--body-limit', '65536'], { ZKONNX_TOKEN: TOKEN });
});

afterAll(async () => {
  await node?.stop('SIGKILL');
  await rm(work, { recursive: true, force: true });
});

/**
 * POST /v1/models/ID/infer. A body without `wait` waits up to 120 s (not the 30 s default): on a loaded machine
 * 50 proofs on 2 provers may take longer, and these tests are about answers, not speed.
 */
const infer = (url: string, id: string, body: unknown, headers: Record<string, string> = {}) =>
  postJson(`${url}/v1/models/${id}/infer`, body !== null && typeof body === 'object' && !Array.isArray(body) && !('wait' in body) ? { ...body, wait: 120 } : body, headers);

/** The input as the circuit sees it (uint8), to check a bundle proves this request's input and no other. */
async function quantized(dir: string, input: unknown): Promise<number[]> {
  const m = await readManifest(dir);
  return quantizeModelInput(m.input, flattenInput(input, m.input));
}

describe('zkonnx serve (embedded)', () => {
  it('prints where it listens and serves the set-up models, with status, key and shapes', async () => {
    expect(node.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const list = await getJson(`${node.url}/v1/models`);
    expect(list.status).toBe(200);
    expect(list.body.models.map((m: { id: string; status: string }) => [m.id, m.status])).toEqual([
      ['big', 'ready'], ['hashed', 'ready'], ['nokey', 'not-set-up'], ['notes', 'not-compiled'], ['tiny', 'ready'],
    ]);
    const nokey = await infer(node.url, 'nokey', { input: [randomRow(4, 3)] });
    expect(nokey.status).toBe(409);
    expect(nokey.body.error).toMatchObject({ code: 'MODEL_NOT_READY' });
    expect(nokey.body.error.message).toMatch(/not ready \(not-set-up\).*zkonnx setup/);
    const m = await getJson(`${node.url}/v1/models/tiny`);
    const manifest = await readManifest(tiny.dir);
    expect(m.body).toMatchObject({
      id: 'tiny',
      status: 'ready',
      constraints: manifest.circuit.constraints,
      keyKind: 'dev',
      vkSha256: manifest.setup!.vkSha256,
      inputs: [{ name: 'input', shape: [1, 8] }],
      outputs: [{ name: 'output', shape: [1, 4] }],
      visibility: { input: 'public', output: 'public', params: 'fixed' },
    });
    const vk = await getJson(`${node.url}/v1/models/tiny/vk`);
    expect(vk.status).toBe(200);
    expect(vk.body).toEqual(trustedVk);
    const sol = await fetch(`${node.url}/v1/models/tiny/vk?format=solidity`);
    expect(sol.status).toBe(200);
    expect(sol.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await sol.text()).toMatch(/pragma solidity[\s\S]*function verifyProof/);
    expect((await getJson(`${node.url}/v1/models/nope`)).status).toBe(404);
  });

  it('50 concurrent inferences with 2 provers (as the Redis test): every answer is a proof of its own input that verifies', async () => {
    const inputs = Array.from({ length: 50 }, (_, i) => tiny.input(100 + i));
    const replies = await Promise.all(inputs.map((inp) => infer(node.url, 'tiny', inp)));
    const ids = new Set<string>();
    for (const [i, r] of replies.entries()) {
      expect(r.status, r.text).toBe(200);
      ids.add(r.body.jobId);
      const bundle = r.body.bundle as ProofBundle;
      // The proof is about this request's input, and the output the reply states is the proven one.
      expect(bundle.input.quantized).toEqual(await quantized(tiny.dir, inputs[i]));
      expect(r.body.output).toEqual(bundle.output.values);
      const v = await verifyBundle(bundle, trustedVk);
      expect(v.valid, v.reason).toBe(true);
      expect(v.valid && v.output).toEqual(r.body.output);
    }
    expect(ids.size).toBe(50);
    // A tampered output is refused by the key the server holds (POST /v1/verify), the untouched one accepted.
    const good = replies[0]!.body.bundle as ProofBundle;
    const ok = await postJson(`${node.url}/v1/verify`, { bundle: good });
    expect(ok.body).toMatchObject({ valid: true, modelId: 'tiny', vkSha256: good.vkSha256 });
    const bad = structuredClone(good);
    bad.publicSignals[0] = String(BigInt(bad.publicSignals[0]!) + 1n);
    const no = await postJson(`${node.url}/v1/verify`, { bundle: bad, modelId: 'tiny' });
    expect(no.status).toBe(200);
    expect(no.body.valid).toBe(false);
    expect(no.body.reason).toBeTypeOf('string');
  });

  it('a bundle from the node verifies with `zkonnx verify` against the key it serves', async () => {
    const r = await infer(node.url, 'tiny', tiny.input(7));
    expect(r.status).toBe(200);
    const bundlePath = join(work, 'b.json');
    const vkPath = join(work, 'vk.json');
    await writeFile(bundlePath, JSON.stringify(r.body.bundle));
    await writeFile(vkPath, (await getJson(`${node.url}/v1/models/tiny/vk`)).text);
    const v = await cli('verify', bundlePath, '--vk', vkPath, '--json');
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ valid: true, output: r.body.output });
  });

  it('a hashed input: the requester gets the opening of its commitment, and `zkonnx verify --open-input` checks it', async () => {
    const input = hashed.input(31);
    const r = await infer(node.url, 'hashed', input);
    expect(r.status, r.text).toBe(200);
    const bundle = r.body.bundle as ProofBundle;
    expect(bundle.input.quantized).toBeUndefined();
    expect(r.body.opening).toMatchObject({ format: 'zkonnx-opening', vkSha256: bundle.vkSha256, commitment: bundle.commitments!.input });
    expect(r.body.opening.input.quantized).toEqual(await quantized(hashed.dir, input));
    const paths = { bundle: join(work, 'h.json'), opening: join(work, 'h.opening.json'), vk: artifactPath(hashed.dir, 'vk') };
    await writeFile(paths.bundle, JSON.stringify(bundle));
    await writeFile(paths.opening, JSON.stringify(r.body.opening));
    const v = await cli('verify', paths.bundle, '--vk', paths.vk, '--open-input', paths.opening, '--json');
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ valid: true, inputOpened: true });
    // Another input's opening does not open this commitment.
    const other = { ...r.body.opening, input: { ...r.body.opening.input, quantized: await quantized(hashed.dir, hashed.input(32)) } };
    await writeFile(paths.opening, JSON.stringify(other));
    const bad = await cli('verify', paths.bundle, '--vk', paths.vk, '--open-input', paths.opening, '--json');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).valid).toBe(false);
  });

  it('wait 0 answers 202 with the job, which polls to completed', async () => {
    const r = await infer(node.url, 'big', { input: [randomRow(64, 5)], wait: 0 });
    expect(r.status, r.text).toBe(202);
    expect(r.headers.get('location')).toBe(`/v1/jobs/${r.body.jobId}`);
    expect(['queued', 'active']).toContain(r.body.status);
    const done = await pollJob(node.url, r.body.jobId);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ id: r.body.jobId, modelId: 'big', status: 'completed', attempts: 1 });
    const v = await verifyBundle(done.body.result.bundle, await readVerificationKey(artifactPath(big.dir, 'vk')));
    expect(v.valid, v.reason).toBe(true);
    // ?wait= works too.
    const q = await postJson(`${node.url}/v1/models/tiny/infer?wait=0`, tiny.input(8));
    expect(q.status).toBe(202);
    expect((await pollJob(node.url, q.body.jobId)).body.status).toBe('completed');
    // A job id is a UUID: anything else is a 400 naming the param; an unknown UUID is a 404.
    const notId = await getJson(`${node.url}/v1/jobs/no-such-job`);
    expect(notId.status).toBe(400);
    expect(notId.body.error.message).toMatch(/^params\/id must match pattern/);
    expect((await getJson(`${node.url}/v1/jobs/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  });

  it('refuses malformed bodies, wrong shapes and wrong types with 400 naming the field, before queueing', async () => {
    const before = (await getJson(`${node.url}/metrics`)).text;
    const missing = await infer(node.url, 'tiny', { inptu: [1] });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/body must have required property 'input'/);
    const extra = await infer(node.url, 'tiny', { ...tiny.input(1), inptu: 1 });
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toMatch(/body must NOT have additional properties \('inptu'\)/);
    const notJson = await infer(node.url, 'tiny', '{"input": [1,');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('BAD_REQUEST');
    const type = await infer(node.url, 'tiny', { input: 'zero' });
    expect(type.status).toBe(400);
    expect(type.body.error.message).toMatch(/^body\/input must be array,object/);
    const wait = await infer(node.url, 'tiny', { ...tiny.input(1), wait: -1 });
    expect(wait.status).toBe(400);
    expect(wait.body.error.message).toMatch(/^body\/wait must be >= 0/);
    const shape = await infer(node.url, 'tiny', { input: [[1, 2, 3]] });
    expect(shape.status).toBe(400);
    expect(shape.body.error).toMatchObject({ code: 'BAD_INPUT' });
    expect(shape.body.error.message).toMatch(/input 'input' has 3 values, the model expects 8 \(shape \[1,8\]\)/);
    const element = await infer(node.url, 'tiny', { input: [[0, 0, 'x', 0, 0, 0, 0, 0]] });
    expect(element.status).toBe(400);
    expect(element.body.error.message).toMatch(/input\[0\]\[2\] is the string "x", expected a finite number/);
    const name = await infer(node.url, 'tiny', { input: { pixels: randomRow(8, 1) } });
    expect(name.status).toBe(400);
    expect(name.body.error.message).toMatch(/no value for the model input 'input'/);
    const id = await infer(node.url, '..', tiny.input(1));
    expect([400, 404]).toContain(id.status);
    // None of them reached the queue: no job was counted between the two scrapes.
    const after = (await getJson(`${node.url}/metrics`)).text;
    const count = (t: string) => t.split('\n').filter((l) => l.startsWith('zkonnx_jobs_total')).map((l) => Number(l.split(' ').pop())).reduce((a, b) => a + b, 0);
    expect(count(after)).toBe(count(before));
  });

  it('refuses a body over --body-limit with 400 naming the body and the limit', async () => {
    const r = await infer(node.url, 'tiny', { input: Array.from({ length: 20_000 }, () => 0.5) });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('BODY_TOO_LARGE');
    expect(r.body.error.message).toMatch(/^body: .*limit of 65536 bytes/);
  });

  it('uploads need the bearer token (401 with WWW-Authenticate); with it, the model compiles, sets up and serves', async () => {
    const onnx = Buffer.from(randomMlp({ sizes: [6, 5, 3], seed: 11, style: 'gemm' }).bytes).toString('base64');
    const calibration = Array.from({ length: 8 }, (_, i) => [randomRow(6, 500 + i)]);
    const body = { id: 'uploaded', onnx, calibration };
    const none = await postJson(`${node.url}/v1/models`, body);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(none.body.error.code).toBe('UNAUTHORIZED');
    const wrong = await postJson(`${node.url}/v1/models`, body, { authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(401);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const exists = await postJson(`${node.url}/v1/models`, { ...body, id: 'tiny' }, auth);
    expect(exists.status).toBe(409);
    const badVis = await postJson(`${node.url}/v1/models`, { ...body, outputVisibility: 'secret' }, auth);
    expect(badVis.status).toBe(400);
    expect(badVis.body.error.message).toMatch(/^body\/outputVisibility must be equal to one of the allowed values: public, hashed/);

    const up = await postJson(`${node.url}/v1/models`, body, auth);
    expect(up.status, up.text).toBe(202);
    expect(up.body).toEqual({ id: 'uploaded', status: 'compiling' });
    // Not a half-made model meanwhile: only the finished directory appears under the root.
    const again = await postJson(`${node.url}/v1/models`, body, auth);
    expect(again.status).toBe(409);
    const broken = await postJson(`${node.url}/v1/models`, { ...body, id: 'broken', onnx: Buffer.from('not an onnx model').toString('base64') }, auth);
    expect(broken.status).toBe(202);

    let info: any;
    for (const end = Date.now() + 120_000; Date.now() < end; await new Promise((d) => setTimeout(d, 200))) {
      info = (await getJson(`${node.url}/v1/models/uploaded`)).body;
      if (info.status !== 'compiling') break;
    }
    expect(info.status, JSON.stringify(info)).toBe('ready');
    expect(info.inputs).toEqual([{ name: 'input', shape: [1, 6] }]);
    const r = await infer(node.url, 'uploaded', { input: [randomRow(6, 9)] });
    expect(r.status, r.text).toBe(200);
    const vk = await readVerificationKey(artifactPath(join(root, 'uploaded'), 'vk'));
    expect((await verifyBundle(r.body.bundle, vk)).valid).toBe(true);

    let failed: any;
    for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((d) => setTimeout(d, 200))) {
      failed = (await getJson(`${node.url}/v1/models/broken`)).body;
      if (failed.status !== 'compiling') break;
    }
    expect(failed.status).toBe('failed');
    expect(failed.error.code).toBe('ONNX_PARSE');
    expect(failed.error.message).toMatch(/broken\.onnx/);
    expect((await infer(node.url, 'broken', { input: [randomRow(6, 9)] })).status).toBe(409);
  });

  it('publishes its OpenAPI document and Prometheus metrics', async () => {
    const doc = await getJson(`${node.url}/openapi.json`);
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths).sort()).toEqual(['/healthz', '/metrics', '/v1/jobs/{id}', '/v1/models', '/v1/models/{id}', '/v1/models/{id}/infer', '/v1/models/{id}/vk', '/v1/verify']);
    const inferOp = doc.body.paths['/v1/models/{id}/infer'].post;
    expect(inferOp.requestBody.content['application/json'].schema.required).toEqual(['input']);
    expect(Object.keys(inferOp.responses)).toEqual(expect.arrayContaining(['200', '202']));
    expect(doc.body.paths['/v1/models'].post.security).toEqual([{ bearer: [] }]);

    const m = await getJson(`${node.url}/metrics`);
    expect(m.status).toBe(200);
    expect(m.text).toMatch(/^zkonnx_queue_waiting 0$/m);
    expect(m.text).toMatch(/^zkonnx_queue_active \d+$/m);
    const done = Number(/^zkonnx_jobs_total\{model="tiny",status="completed"\} (\d+)$/m.exec(m.text)?.[1]);
    expect(done).toBeGreaterThanOrEqual(22);
    expect(m.text).toMatch(/^zkonnx_prove_seconds_count\{model="tiny"\} \d+$/m);
    expect(m.text).toMatch(/^process_resident_memory_bytes \d+/m);
    const h = await getJson(`${node.url}/healthz`);
    expect(h.body).toMatchObject({ status: 'ok', queue: 'embedded' });
  });

  it('SIGTERM while a job runs: no new requests, that job\'s client gets its proof, exit 0', async () => {
    const pending = infer(node.url, 'big', { input: [randomRow(64, 77)], wait: 60 });
    for (let i = 0; i < 400; i++) {
      const d = await getJson(`${node.url}/healthz`);
      if (d.body.active > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    node.proc.kill('SIGTERM');
    const r = await pending;
    expect(r.status, r.text).toBe(200);
    expect((await verifyBundle(r.body.bundle, await readVerificationKey(artifactPath(big.dir, 'vk')))).valid).toBe(true);
    expect(await node.exited).toEqual({ code: 0, signal: null });
    await expect(fetch(`${node.url}/healthz`)).rejects.toThrow();
  });
});

describe('zkonnx serve limits', () => {
  it('--keep-results beyond what a timer holds (2^31 - 1 ms) is a usage error (exit 2), not results dropped at once', async () => {
    const r = await runProcess(process.execPath, ['bin/zkonnx.js', 'serve', '--port', '0', '--models', root, '--keep-results', '3000000'], { timeout: 60_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--keep-results must be at most 2147483 seconds/);
  });

  it('a full queue answers 429 with Retry-After; a job past --job-timeout fails with TIMEOUT', async () => {
    const limited = await startServe(['--port', '0', '--models', root, '--concurrency', '1', '--max-queued', '1', '--job-timeout', '0.1']);
    try {
      const body = { input: [randomRow(64, 1)], wait: 0 };
      const burst = await Promise.all(Array.from({ length: 6 }, () => infer(limited.url, 'big', body)));
      const accepted = burst.filter((r) => r.status === 202);
      const full = burst.filter((r) => r.status === 429);
      expect(accepted.length + full.length, burst.map((r) => r.text).join('\n')).toBe(6);
      // One running, one waiting (--max-queued 1): the other four are refused.
      expect(accepted.length).toBeLessThanOrEqual(2);
      expect(full.length).toBeGreaterThanOrEqual(4);
      for (const r of full) {
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(r.body.error.code).toBe('QUEUE_FULL');
      }
      for (const r of accepted) {
        const j = await pollJob(limited.url, r.body.jobId);
        expect(j.body.status).toBe('failed');
        expect(j.body.error.code).toBe('TIMEOUT');
        expect(j.body.error.message).toMatch(/longer than the job time limit \(0\.1 s\)/);
      }
      // The killed prover was replaced: the pool still answers (a timed-out job again, with its error).
      const again = await infer(limited.url, 'big', { input: [randomRow(64, 2)], wait: 0 });
      expect(again.status).toBe(202);
      const j = await pollJob(limited.url, again.body.jobId);
      expect(j.body).toMatchObject({ status: 'failed', error: { code: 'TIMEOUT' } });
      // Without a token, uploads are off (403, saying how to turn them on).
      const up = await postJson(`${limited.url}/v1/models`, { id: 'x', onnx: 'AAAA', calibration: [[1]] }, { authorization: 'Bearer x' });
      expect(up.status).toBe(403);
      expect(up.body.error.hint).toMatch(/--token/);
    } finally {
      expect((await limited.stop()).code).toBe(0);
    }
  });
});
