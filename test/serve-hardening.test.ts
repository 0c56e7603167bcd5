/**
 * The proving node's review findings (issue 15), at library level and through the fastify app in-process
 * (app.inject, a real embedded prover pool): concurrent uploads of one id, a calibration nested too deep, paths
 * of the server's file system kept out of replies, and the status of a job that failed on the server's own files.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactPath } from '../src/artifacts/paths.ts';
import { InputError } from '../src/errors.ts';
import { createEmbeddedQueue, type EmbeddedQueue } from '../src/serve/embedded.ts';
import { ConflictError, statusOf } from '../src/serve/errors.ts';
import { ModelRegistry } from '../src/serve/models.ts';
import { createServer } from '../src/serve/server.ts';
import { setUpModel, type ServedModel } from './helpers/serve.ts';

const TOKEN = 'hardening-token';
let work: string;
let root: string;
let tiny: ServedModel;
let hashed: ServedModel;
/** The server's log lines (pino JSON, info level and above). */
const logLines: string[] = [];
let queue: EmbeddedQueue;
let registry: ModelRegistry;
let app: FastifyInstance;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'zkonnx-hardening-'));
  root = join(work, 'models');
  tiny = await setUpModel(root, 'tiny');
  hashed = await setUpModel(root, 'hashed', { seed: 21, visibility: { input: 'hashed' } });
  // Set up like tiny, but its circuit source (which the direct backend computes witnesses from) is missing: the
  // model looks ready, and its jobs fail on the server's own files (ArtifactError).
  await mkdir(join(root, 'nocircuit'));
  for (const f of await readdir(tiny.dir)) if (f.includes('.')) await copyFile(join(tiny.dir, f), join(root, 'nocircuit', f)).catch(() => undefined);
  await rm(artifactPath(join(root, 'nocircuit'), 'circom'));
  // A folder whose manifest is corrupt.
  await mkdir(join(root, 'corrupt'));
  await writeFile(join(root, 'corrupt', 'manifest.json'), '{"format": "something else"}');
  queue = createEmbeddedQueue({ modelsDir: root, concurrency: 1 });
  registry = new ModelRegistry(root);
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  app = await createServer({ queue, models: registry, token: TOKEN, jobTimeoutSeconds: 120, logger });
});

afterAll(async () => {
  await app?.close();
  await queue?.close(0);
  await registry?.idle();
  await rm(work, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${TOKEN}` };
const notOnnx = Buffer.from('not an onnx model').toString('base64');

describe('model uploads', () => {
  it('two concurrent uploads of one id: one is accepted (202), the other gets 409; a failed build names the file, not the server path', async () => {
    const body = { id: 'twice', onnx: notOnnx, calibration: [[[0.1, 0.2]]] };
    const [a, b] = await Promise.all([
      app.inject({ method: 'POST', url: '/v1/models', headers: auth, payload: body }),
      app.inject({ method: 'POST', url: '/v1/models', headers: auth, payload: body }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([202, 409]);
    const loser = a.statusCode === 409 ? a : b;
    expect(loser.json().error.code).toBe('MODEL_EXISTS');
    // The same at library level.
    const lib = await Promise.allSettled([registry.upload('twice-lib', Buffer.from('x'), { calibration: [[1]] }), registry.upload('twice-lib', Buffer.from('x'), { calibration: [[1]] })]);
    expect(lib.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((lib.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);

    await registry.idle();
    const info = (await app.inject({ method: 'GET', url: '/v1/models/twice' })).json();
    expect(info.status).toBe('failed');
    expect(info.error.message).toMatch(/twice\.onnx/);
    expect(info.error.message).not.toContain(root);
    expect(info.error.message).not.toContain('.uploads');
    expect(info.error.message).not.toContain(tmpdir());
  });

  it('a calibration nested 200,000 levels deep: 400 naming calibration, and no staging folder is left behind', async () => {
    const depth = 200_000;
    const payload = `{"id":"deep","onnx":"${notOnnx}","calibration":[${'['.repeat(depth)}1${']'.repeat(depth)}]}`;
    const r = await app.inject({ method: 'POST', url: '/v1/models', headers: { ...auth, 'content-type': 'application/json' }, payload });
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json().error.message).toMatch(/^calibration: nested deeper than 32 levels/);
    // At library level too: an InputError, the id free again, no folder under .uploads.
    let deep: unknown = [1];
    for (let i = 0; i < depth; i++) deep = [deep];
    const e = await registry.upload('deep', Buffer.from('x'), { calibration: [deep] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect(statusOf(e)).toBe(400);
    const uploads = join(root, '.uploads');
    expect(existsSync(uploads) ? await readdir(uploads) : []).toEqual([]);
    expect((await app.inject({ method: 'GET', url: '/v1/models/deep' })).statusCode).toBe(404);
  });
});

describe('replies show no server paths; server-side faults are 5xx', () => {
  it('a corrupt manifest is named as ID/manifest.json, without the models root', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/models/corrupt' });
    expect(r.statusCode).toBe(200);
    const info = r.json();
    expect(info.status).toBe('not-compiled');
    expect(info.error.message).toContain('corrupt');
    expect(info.error.message).not.toContain(root);
  });

  it("a job that fails on the server's own files (ARTIFACT: a missing circuit source) answers 500, not 400, without the server's paths", async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/models/nocircuit/infer', payload: { ...tiny.input(1), wait: 120 } });
    expect(r.statusCode, r.body).toBe(500);
    const e = r.json().error;
    expect(e.code).toBe('ARTIFACT');
    expect(e.message).toMatch(/'nocircuit' has no circuit source/);
    expect(e.message).not.toContain(root);
    // GET /v1/jobs/:id shows the same error as data.
    const job = (await app.inject({ method: 'GET', url: `/v1/jobs/${r.json().jobId}` })).json();
    expect(job.error).toMatchObject({ code: 'ARTIFACT' });
    expect(job.error.message).not.toContain(root);
    // The client's own mistake stays 400.
    const bad = await app.inject({ method: 'POST', url: '/v1/models/tiny/infer', payload: { input: [[1, 2]] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('BAD_INPUT');
  });
});

describe('job ids and a hashed input\'s opening', () => {
  it('a job id is a UUID: anything else is a 400 naming params/id; an unknown UUID is a 404', async () => {
    for (const id of ['events', 'stalled-check', 'no-such-job']) {
      const r = await app.inject({ method: 'GET', url: `/v1/jobs/${id}` });
      expect(r.statusCode).toBe(400);
      expect(r.json().error.message).toMatch(/^params\/id must match pattern/);
    }
    expect((await app.inject({ method: 'GET', url: '/v1/jobs/00000000-0000-4000-8000-000000000000' })).statusCode).toBe(404);
  });

  it('the opening is handed out once (the infer reply, or else the first GET of the completed job), and the job id of such a job is not logged', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/models/hashed/infer', payload: { ...hashed.input(1), wait: 120 } });
    expect(r.statusCode, r.body).toBe(200);
    const first = r.json();
    expect(first.opening).toMatchObject({ format: 'zkonnx-opening', commitment: first.bundle.commitments.input });
    const later = (await app.inject({ method: 'GET', url: `/v1/jobs/${first.jobId}` })).json();
    expect(later.status).toBe('completed');
    expect(later.result.bundle).toEqual(first.bundle);
    expect(later.result.opening).toBeUndefined();

    // Polled: the first GET of the completed job has it, the next one not.
    const q = await app.inject({ method: 'POST', url: '/v1/models/hashed/infer', payload: { ...hashed.input(2), wait: 0 } });
    expect(q.statusCode).toBe(202);
    const id = q.json().jobId;
    let polled: any;
    for (const end = Date.now() + 120_000; Date.now() < end; await new Promise((d) => setTimeout(d, 50))) {
      polled = (await app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).json();
      if (polled.status === 'completed' || polled.status === 'failed') break;
    }
    expect(polled.status).toBe('completed');
    expect(polled.result.opening).toMatchObject({ format: 'zkonnx-opening', commitment: polled.result.bundle.commitments.input });
    expect((await app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).json().result.opening).toBeUndefined();

    // A public-input job still logs its id; the hashed-input jobs' ids appear in no log line.
    const pub = (await app.inject({ method: 'POST', url: '/v1/models/tiny/infer', payload: { ...tiny.input(3), wait: 120 } })).json();
    const logs = logLines.join('');
    expect(logs).toContain(pub.jobId);
    expect(logs).toMatch(/"modelId":"hashed"[^\n]*"msg":"job completed"/);
    expect(logs).not.toContain(first.jobId);
    expect(logs).not.toContain(id);

    // The route documents it.
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.paths['/v1/jobs/{id}'].get.description).toMatch(/opening.*once only/s);
  });
});
