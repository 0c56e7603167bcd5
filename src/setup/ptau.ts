/**
 * Powers of tau. Without a ptau file, zkonnx makes one locally (new accumulator, one random contribution,
 * prepare phase 2) at the smallest power that fits and caches it in artifacts/ptau/. The contribution's
 * entropy is drawn at random and never stored, but a key made this way has a single party: a dev key.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadSnarkjs } from '../toolchain.ts';
import { SetupError } from '../errors.ts';
import { produceAtomic, tempPathFor, trackTemp } from '../artifacts/io.ts';
import { ptauCacheDir } from '../artifacts/paths.ts';
import { silentProgress, type ProgressReporter } from '../progress.ts';

/** The smallest ptau power snarkjs accepts for a circuit (its domain holds constraints + public signals). */
export function requiredPower(nConstraints: number, nPublic: number): number {
  return Math.floor(Math.log2(nConstraints + nPublic)) + 1;
}

/** Read the power from a .ptau file's header section. */
export async function readPtauPower(path: string): Promise<number> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new SetupError(`Cannot read ptau file '${path}': ${(e as NodeJS.ErrnoException).code}.`, { cause: e });
  }
  try {
    const buf = Buffer.alloc(128);
    await fh.read(buf, 0, 128, 0);
    if (buf.toString('ascii', 0, 4) !== 'ptau') throw new SetupError(`'${path}' is not a powers-of-tau (.ptau) file.`);
    // magic(4) version(4) nSections(4) | section type(4) size(8) | n8(4) q(n8) power(4)
    if (buf.readUInt32LE(12) !== 1) throw new SetupError(`'${path}': unexpected ptau layout (header section not first).`);
    const n8 = buf.readUInt32LE(24);
    return buf.readUInt32LE(28 + n8);
  } finally {
    await fh.close();
  }
}

const LOCAL_PREFIX = 'zkonnx-local-';
/** Cache small ptaus at this power at least, so small circuits share one file. */
const MIN_LOCAL_POWER = 10;

/** A locally generated prepared ptau of at least `power`, from the cache or made now. */
export async function ensureLocalPtau(power: number, progress: ProgressReporter = silentProgress): Promise<string> {
  const dir = ptauCacheDir();
  if (existsSync(dir)) {
    const cached = (await readdir(dir))
      .map((f) => /^zkonnx-local-(\d+)\.ptau$/.exec(f))
      .filter((m): m is RegExpExecArray => !!m && Number(m[1]) >= power)
      .sort((a, b) => Number(a[1]) - Number(b[1]));
    if (cached[0]) return join(dir, cached[0][0]);
  }
  const p = Math.max(power, MIN_LOCAL_POWER);
  if (p > 28) throw new SetupError(`The circuit needs powers of tau 2^${power}; BN254 allows at most 2^28.`);
  const target = join(dir, `${LOCAL_PREFIX}${p}.ptau`);
  const done = progress.step(`setup: generating powers of tau 2^${p} locally (one time; cached in ${dir})`);
  const snarkjs = await loadSnarkjs();
  const curve = await snarkjs.curves.getCurveFromName('bn128');
  const t0 = tempPathFor(target);
  const t1 = tempPathFor(target);
  const forget = [trackTemp(t0), trackTemp(t1)];
  try {
    await produceAtomic(target, async (tmp) => {
      await snarkjs.powersOfTau.newAccumulator(curve, p, t0);
      await snarkjs.powersOfTau.contribute(t0, t1, 'zkonnx local', randomBytes(32).toString('hex'));
      await snarkjs.powersOfTau.preparePhase2(t1, tmp);
    });
  } finally {
    await rm(t0, { force: true });
    await rm(t1, { force: true });
    forget.forEach((f) => f());
  }
  done();
  return target;
}
