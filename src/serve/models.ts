/**
 * The models a node serves: every artifact directory under the models root, by folder name, with its status
 * (ready when compiled and set up), and models uploaded through the API (POST /v1/models), compiled and set up
 * in a child process into a staging folder that is renamed into place only when both steps succeed.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest, publicInputLayoutOf, visibilityOf, backendOf, type Manifest } from '../artifacts/manifest.ts';
import { artifactPath, ptauCacheDir } from '../artifacts/paths.ts';
import { InputError } from '../errors.ts';
import { flattenInput } from '../io/input.ts';
import { quantizeModelInput } from '../ir/io.ts';
import type { PublicInputLayout, Visibility } from '../verify/layout.ts';
import type { ZkonnxVerificationKey } from '../verify/types.ts';
import { readVerificationKey } from '../prove/prove.ts';
import { ConflictError, NotFoundError } from './errors.ts';
import { hidePaths, MODEL_ID, modelDir } from './prover.ts';
import type { BuildRequest, BuildReply } from './build-worker.ts';

export type ModelStatus = 'ready' | 'compiling' | 'failed' | 'not-set-up' | 'not-compiled';

export interface TensorInfo {
  name: string;
  shape: number[];
  /** Absent for float tensors; 'int64', 'bool', ... for integer ones. */
  dtype?: string;
}

/** A model as GET /v1/models/:id shows it. */
export interface ModelInfo {
  id: string;
  status: ModelStatus;
  /** Why it is not ready (failed upload, stale key, unreadable manifest). */
  error?: { code: string; message: string };
  constraints?: number;
  keyKind?: 'dev' | 'ceremony';
  vkSha256?: string;
  backend?: string;
  publicInputs?: PublicInputLayout;
  visibility?: Visibility;
  inputs?: TensorInfo[];
  outputs?: TensorInfo[];
}

/** Options of an upload, as `zkonnx compile` names them (camel case). */
export interface UploadOptions {
  calibration: unknown[];
  inputVisibility?: 'public' | 'hashed' | 'private';
  outputVisibility?: 'public' | 'hashed';
  paramVisibility?: 'fixed' | 'hashed';
  publicInputs?: PublicInputLayout;
  dims?: Record<string, number>;
  inputBounds?: Record<string, [number, number]>;
  backend?: 'direct' | 'circom';
}

interface Upload {
  status: 'compiling' | 'failed';
  error?: { code: string; message: string };
  startedAt: string;
}

const tensors = (spec: { name: string; shape: number[]; dtype?: string; parts?: { name: string; shape: number[]; dtype?: string }[] }): TensorInfo[] =>
  (spec.parts?.length ? spec.parts : [spec]).map((p) => ({ name: p.name, shape: [...p.shape], ...(p.dtype ? { dtype: p.dtype } : {}) }));

/** The build worker module beside this one (the .ts file under tsx, the .js file under dist/). */
function buildWorker(): { path: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  return { path: fileURLToPath(new URL(fromSource ? './build-worker.ts' : './build-worker.js', import.meta.url)), execArgv: fromSource ? ['--import', 'tsx'] : [] };
}

/** Calibration nested deeper than this is refused (a model input has a few dimensions; JSON.stringify overflows on thousands). */
export const MAX_CALIBRATION_DEPTH = 32;

/** InputError naming `calibration` when it is nested deeper than MAX_CALIBRATION_DEPTH (checked without recursion). */
export function checkCalibrationDepth(calibration: unknown): void {
  const stack: [unknown, number][] = [[calibration, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > MAX_CALIBRATION_DEPTH) {
      throw new InputError(`calibration: nested deeper than ${MAX_CALIBRATION_DEPTH} levels.`, { hint: 'Send an array of inputs, each as an input file holds it (an object keyed by input name, or a nested array of the input\'s shape).' });
    }
    for (const c of Array.isArray(v) ? v : Object.values(v)) if (c !== null && typeof c === 'object') stack.push([c, depth + 1]);
  }
}

/** Where uploads are built: a hidden folder under the models root (same file system, so the final rename is atomic). */
const UPLOADS = '.uploads';

export class ModelRegistry {
  readonly root: string;
  private readonly uploads = new Map<string, Upload>();
  private readonly manifests = new Map<string, { mtimeMs: number; manifest: Manifest }>();
  private readonly vks = new Map<string, { vkSha256: string; vk: ZkonnxVerificationKey }>();
  /** Serialize builds: one compile + setup at a time (each is CPU- and memory-heavy). */
  private builds: Promise<void> = Promise.resolve();
  private readonly building = new Set<Promise<void>>();

  constructor(root: string, private readonly hooks: { onReady?: (id: string) => void | Promise<void>; log?: (level: 'info' | 'warn' | 'error', msg: string, f?: Record<string, unknown>) => void } = {}) {
    this.root = resolve(root);
  }

  /** Remove build folders that a server which is gone left behind (its pid is in the folder's name). */
  async cleanStaleUploads(): Promise<void> {
    const dir = join(this.root, UPLOADS);
    if (!existsSync(dir)) return;
    for (const name of await readdir(dir)) {
      const pid = Number(name.split('-')[0]);
      let alive = false;
      try {
        // Another live server's build folder stays; this process's own (from before a restart in-process) too
        // while it builds.
        process.kill(pid, 0);
        alive = pid !== process.pid || this.uploads.size > 0;
      } catch {
        alive = false;
      }
      if (!alive) await rm(join(dir, name), { recursive: true, force: true });
    }
  }

  /** Model ids on disk (plain folder names; the ptau cache and hidden folders are not models) and uploads under way. */
  async ids(): Promise<string[]> {
    const out = new Set<string>();
    const ptau = resolve(ptauCacheDir());
    try {
      for (const e of await readdir(this.root, { withFileTypes: true })) {
        if (!e.isDirectory() || !MODEL_ID.test(e.name) || join(this.root, e.name) === ptau) continue;
        out.add(e.name);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const id of this.uploads.keys()) out.add(id);
    return [...out].sort();
  }

  async list(): Promise<ModelInfo[]> {
    return Promise.all((await this.ids()).map((id) => this.info(id)));
  }

  /** The manifest of a compiled model on disk (cached while the file is unchanged); undefined when there is none. */
  private async manifestOf(id: string): Promise<Manifest | undefined> {
    const dir = modelDir(this.root, id);
    const path = artifactPath(dir, 'manifest');
    let st;
    try {
      st = await stat(path);
    } catch {
      this.manifests.delete(id);
      return undefined;
    }
    const hit = this.manifests.get(id);
    if (hit && hit.mtimeMs === st.mtimeMs) return hit.manifest;
    const manifest = await readManifest(dir);
    this.manifests.set(id, { mtimeMs: st.mtimeMs, manifest });
    return manifest;
  }

  /** A model's status and description; NotFoundError for an id with neither a folder nor an upload. */
  async info(id: string): Promise<ModelInfo> {
    const dir = modelDir(this.root, id);
    const up = this.uploads.get(id);
    if (up && (up.status === 'compiling' || !existsSync(dir))) return { id, status: up.status, ...(up.error ? { error: up.error } : {}) };
    if (!existsSync(dir)) throw new NotFoundError(`No model '${id}' on this node.`, { hint: 'GET /v1/models lists the models it serves.' });
    let m: Manifest | undefined;
    try {
      m = await this.manifestOf(id);
    } catch (e) {
      // The reply names the file under the models root (id/manifest.json), never the server's absolute path.
      return { id, status: 'not-compiled', error: { code: 'ARTIFACT', message: hidePaths((e as Error).message.split('\n')[0]!, this.root) } };
    }
    if (!m) return { id, status: 'not-compiled', error: { code: 'ARTIFACT', message: `'${id}' has no manifest.json: it is not a compiled artifact directory.` } };
    const described: ModelInfo = {
      id,
      status: 'ready',
      constraints: m.circuit.constraints,
      backend: backendOf(m),
      publicInputs: publicInputLayoutOf(m),
      visibility: visibilityOf(m),
      inputs: tensors(m.input),
      outputs: tensors(m.output),
    };
    const hasKeys = m.setup && existsSync(artifactPath(dir, 'zkey')) && existsSync(artifactPath(dir, 'vk'));
    if (!hasKeys || m.setup!.r1csSha256 !== m.circuit.r1csSha256) {
      return { ...described, status: 'not-set-up', error: { code: 'ARTIFACT', message: hasKeys ? `The key in '${id}' was made for an older circuit: run \`zkonnx setup\` again.` : `'${id}' has no proving key: run \`zkonnx setup\` on it.` } };
    }
    return { ...described, keyKind: m.setup!.keyKind, vkSha256: m.setup!.vkSha256 };
  }

  /** A model that can prove now, with its manifest: NotFoundError for an unknown id, ConflictError when not ready. */
  async ready(id: string): Promise<{ info: ModelInfo; manifest: Manifest }> {
    const info = await this.info(id);
    if (info.status !== 'ready') {
      throw new ConflictError(`Model '${id}' is not ready (${info.status})${info.error ? `: ${info.error.message}` : '.'}`, { code: 'MODEL_NOT_READY' });
    }
    return { info, manifest: (await this.manifestOf(id))! };
  }

  /**
   * Check an input against a ready model's input (names, shape, element type, integer bounds) the way the
   * prover will, so a bad one is refused before it is queued: InputError naming the field.
   */
  checkInput(manifest: Manifest, input: unknown): void {
    const flat = flattenInput(input, manifest.input, 'input');
    quantizeModelInput(manifest.input, flat);
  }

  /** A ready model's verification key (cached per key hash). */
  async vk(id: string): Promise<{ vk: ZkonnxVerificationKey; vkSha256: string }> {
    const { info } = await this.ready(id);
    const hit = this.vks.get(id);
    if (hit && hit.vkSha256 === info.vkSha256) return hit;
    const vk = await readVerificationKey(artifactPath(modelDir(this.root, id), 'vk'));
    const entry = { vk, vkSha256: info.vkSha256! };
    this.vks.set(id, entry);
    return entry;
  }

  /** The ready model whose key has this hash (the first, by id); undefined when none does. */
  async byVkSha256(vkSha256: string): Promise<string | undefined> {
    for (const m of await this.list()) if (m.status === 'ready' && m.vkSha256 === vkSha256) return m.id;
    return undefined;
  }

  /**
   * Start an upload: write the ONNX bytes and calibration to a build folder, then compile and set up in a child
   * process (one build at a time) and rename the artifact directory into place. Returns at once with the model
   * 'compiling'; ConflictError when the id is taken (on disk, or an upload under way).
   */
  async upload(id: string, onnx: Uint8Array, opts: UploadOptions): Promise<ModelInfo> {
    if (!MODEL_ID.test(id)) throw new InputError(`id: '${id.slice(0, 120)}' is not a model id (a folder name of letters, digits, '.', '_' and '-', not starting with '.').`);
    checkCalibrationDepth(opts.calibration);
    const previous = this.uploads.get(id);
    if (existsSync(modelDir(this.root, id)) || previous?.status === 'compiling') {
      throw new ConflictError(`A model '${id}' already exists on this node.`, { code: 'MODEL_EXISTS', hint: 'Upload it under another id.' });
    }
    // Reserved before the first await: a second upload of the same id meanwhile gets 409, not a silent drop.
    this.uploads.set(id, { status: 'compiling', startedAt: new Date().toISOString() });
    const work = join(this.root, UPLOADS, `${process.pid}-${id}-${randomBytes(4).toString('hex')}`);
    let req: BuildRequest;
    try {
      await mkdir(work, { recursive: true });
      const onnxPath = join(work, `${id}.onnx`);
      const calibrationPath = join(work, 'calibration.json');
      await writeFile(onnxPath, onnx);
      await writeFile(calibrationPath, JSON.stringify(opts.calibration));
      req = {
        onnxPath,
        calibrationPath,
        out: join(work, id),
        ...(opts.publicInputs ? { publicInputs: opts.publicInputs } : {}),
        visibility: { input: opts.inputVisibility, output: opts.outputVisibility, params: opts.paramVisibility },
        ...(opts.dims ? { dims: opts.dims } : {}),
        ...(opts.inputBounds ? { inputBounds: opts.inputBounds } : {}),
        ...(opts.backend ? { backend: opts.backend } : {}),
      };
    } catch (e) {
      // Release the id and leave no staging folder behind.
      if (previous) this.uploads.set(id, previous);
      else this.uploads.delete(id);
      await rm(work, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
    const run = this.builds.then(() => this.build(id, work, req));
    this.builds = run.catch(() => {});
    this.building.add(run);
    run.finally(() => this.building.delete(run)).catch(() => {});
    return { id, status: 'compiling' };
  }

  /** Wait for builds under way (shutdown). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.building]);
  }

  private async build(id: string, work: string, req: BuildRequest): Promise<void> {
    const log = this.hooks.log ?? (() => {});
    log('info', `model '${id}': compiling and setting up`, { modelId: id });
    const t0 = performance.now();
    try {
      const reply = await runBuild(req);
      if ('error' in reply) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
      const target = modelDir(this.root, id);
      if (existsSync(target)) throw Object.assign(new Error(`A folder '${id}' appeared under the models root while the upload was built.`), { code: 'MODEL_EXISTS' });
      await rename(req.out, target);
      this.uploads.delete(id);
      log('info', `model '${id}': ready (${reply.constraints} constraints, ${((performance.now() - t0) / 1000).toFixed(1)} s)`, { modelId: id, constraints: reply.constraints });
      await this.hooks.onReady?.(id);
    } catch (e) {
      const raw = (e as Error).message;
      // The status (an open read) names the uploaded file as `ID.onnx` and artifacts as `ID/FILE`, never the
      // server's paths; the log keeps the full message.
      const error = { code: String((e as { code?: unknown }).code ?? 'INTERNAL'), message: hidePaths(hidePaths(raw, work), this.root) };
      this.uploads.set(id, { status: 'failed', error, startedAt: this.uploads.get(id)?.startedAt ?? new Date().toISOString() });
      log('warn', `model '${id}': upload failed: ${raw}`, { modelId: id, code: error.code });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}

/** Run one build in a child process; its typed error when it fails, or an INTERNAL one when it dies. */
function runBuild(req: BuildRequest): Promise<BuildReply> {
  const { path, execArgv } = buildWorker();
  return new Promise((done) => {
    const child = fork(path, [], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
    let reply: BuildReply | undefined;
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    // Ctrl-C reaches the whole process group: the build must not die before the server decides.
    child.on('message', (m: BuildReply) => (reply = m));
    child.once('exit', (code, signal) => done(reply ?? { error: { code: 'INTERNAL', message: `The build process ended (${signal ?? `exit code ${code}`}) without an answer.${stderr ? ` ${stderr.trim().split('\n').slice(-3).join(' ')}` : ''}` } }));
    child.send(req);
  });
}
