/**
 * Scale probe for dev-key setup and snarkjs proving: a synthetic circuit shaped like zkonnx's output, set up,
 * proven and verified, each stage in its own process so that its peak memory (VmHWM) is its own.
 *
 *   npx tsx scripts/scale-probe.ts 20              # k = 16, 18, 20: a circuit filling the 2^k domain
 *   npx tsx scripts/scale-probe.ts 18 --prof       # also write a CPU profile of the setup stage
 *   npx tsx scripts/scale-probe.ts 16 --dir /tmp/x --keep               # keep the files (default: a temp dir, removed)
 *   npx tsx scripts/scale-probe.ts 16 --dir /tmp/x --stages setup,prove  # rerun some stages on kept files
 *   SCALE_PROBE_DEVKEY=path/to/other-devkey.ts npx tsx scripts/scale-probe.ts 18   # compare another writer
 *
 * The circuit (writeSyntheticCircuit, also used by test/devkey-scale.test.ts) is layers of "neurons", each
 * the constraints zkonnx emits for one requantized output with constant weights:
 *   u = c + sum_i w_i x_i                 one linear row, fan-in F (mostly 50..150, one in 32 neurons 1000)
 *   u = sum_k b_k 2^k,  b_k (b_k - 1) = 0 a 24-bit decomposition (24 constraints + 1 recomposition)
 *   q = sum_(k >= 13) b_k 2^(k-13)        the requantized output, an input of the next layer
 * with small signed weights w_i and c an offset keeping u non-negative: 27 constraints per neuron. 256 public
 * inputs feed the first layer; the last 10 neurons' q are the public outputs. The constraint count is
 * 2^k - (public signals) - 1, the most that fits snarkjs' 2^k domain; at k = 20 that is about 5M weight terms.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { encodeWtns, writeR1csFile, type SparseLc } from '../src/circom/formats.ts';
import { FIELD_PRIME } from '../src/field.ts';
import { mulberry32 } from '../src/onnx/builder.ts';
import { peakRssMiB, stderrProgress } from '../src/progress.ts';

export interface SyntheticCircuitOptions {
  /** The circuit fills the 2^power domain (power >= 10). */
  power: number;
  /** PRNG seed (weights, fan-ins, inputs). */
  seed?: number;
  nPubIn?: number;
  nPubOut?: number;
}

export interface SyntheticCircuit {
  nConstraints: number;
  nWires: number;
  nPublic: number;
  neurons: number;
  /** Terms of the long linear rows (the constant weights). */
  weightTerms: number;
  /** The satisfying witness (wire 0 = 1, outputs, public inputs, then internal wires). */
  witness: bigint[];
  /** The public signals as snarkjs lists them: outputs then public inputs, decimal. */
  publicSignals: string[];
}

const BITS = 24;
const SHIFT = 13;
const PER_NEURON = BITS + 3;
const LAYER = 1024;
const INPUT_MAX = 256;

/**
 * Write a synthetic zkonnx-shaped circuit (see the file comment) to `r1csPath` and return its satisfying
 * witness. Streams the r1cs: memory is the witness plus one neuron's constraints.
 */
export async function writeSyntheticCircuit(r1csPath: string, opts: SyntheticCircuitOptions): Promise<SyntheticCircuit> {
  const p = FIELD_PRIME;
  const nPubIn = opts.nPubIn ?? 256;
  const nPubOut = opts.nPubOut ?? 10;
  const rand = mulberry32(opts.seed ?? 1);
  const nPublic = nPubIn + nPubOut;
  const nConstraints = 2 ** opts.power - nPublic - 1;
  const neurons = Math.floor(nConstraints / PER_NEURON);
  const padBits = nConstraints - neurons * PER_NEURON;
  if (neurons < nPubOut) throw new RangeError(`2^${opts.power} is too small for ${nPubOut} outputs`);
  const nWires = 1 + nPublic + neurons * (BITS + 2) - nPubOut + padBits;
  const witness: bigint[] = new Array(nWires).fill(0n);
  witness[0] = 1n;
  for (let i = 0; i < nPubIn; i++) witness[1 + nPubOut + i] = BigInt(Math.floor(rand() * INPUT_MAX));
  const neg = (k: number) => (k >= 0 ? BigInt(k) : p - BigInt(-k));
  const pow2 = Array.from({ length: BITS }, (_, k) => 1n << BigInt(k));
  const pow2Shifted = Array.from({ length: BITS }, (_, k) => (k >= SHIFT ? 1n << BigInt(k - SHIFT) : 0n));
  const minusOne = p - 1n;
  const empty: SparseLc = { wires: [], coefs: [] };
  const bitA: bigint[] = [1n];
  const bitB: bigint[] = [minusOne, 1n];
  let weightTerms = 0;

  function* constraints(): Generator<[SparseLc, SparseLc, SparseLc]> {
    let next = 1 + nPublic;
    // The previous layer's outputs (wires), as the next layer's inputs: first the public inputs.
    let prev: number[] = Array.from({ length: nPubIn }, (_, i) => 1 + nPubOut + i);
    let cur: number[] = [];
    for (let j = 0; j < neurons; j++) {
      if (cur.length === LAYER) {
        prev = cur;
        cur = [];
      }
      const fanIn = Math.min(prev.length, rand() < 1 / 32 ? 1000 : 50 + Math.floor(rand() * 101));
      // Distinct inputs: a random odd stride through a power-of-two-sized layer.
      const size = prev.length;
      const start = Math.floor(rand() * size);
      const stride = 2 * Math.floor(rand() * (size / 2)) + 1;
      const xs = new Array<number>(fanIn);
      const ws = new Array<number>(fanIn);
      for (let i = 0; i < fanIn; i++) {
        xs[i] = prev[(start + i * stride) % size];
        const m = 1 + Math.floor(rand() * 3);
        ws[i] = rand() < 0.5 ? -m : m;
      }
      const offset = 3 * (INPUT_MAX - 1) * fanIn;
      let u = offset;
      for (let i = 0; i < fanIn; i++) u += ws[i] * Number(witness[xs[i]]);
      const uWire = next++;
      const bitWires = Array.from({ length: BITS }, () => next++);
      const isOutput = j >= neurons - nPubOut;
      const qWire = isOutput ? 1 + (j - (neurons - nPubOut)) : next++;
      witness[uWire] = BigInt(u);
      for (let k = 0; k < BITS; k++) witness[bitWires[k]] = BigInt(Math.floor(u / 2 ** k) % 2);
      witness[qWire] = BigInt(Math.floor(u / 2 ** SHIFT));
      cur.push(qWire);
      weightTerms += fanIn;

      // u = c + sum w_i x_i, as the linear row c + sum w_i x_i - u = 0 (wires ascending: 0, inputs, u).
      const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
      yield [empty, empty, {
        wires: [0, ...order.map((i) => xs[i]), uWire],
        coefs: [BigInt(offset), ...order.map((i) => neg(ws[i])), minusOne],
      }];
      // u = sum b_k 2^k
      yield [empty, empty, { wires: [uWire, ...bitWires], coefs: [minusOne, ...pow2] }];
      for (const b of bitWires) yield [{ wires: [b], coefs: bitA }, { wires: [0, b], coefs: bitB }, empty];
      // q = sum_(k >= SHIFT) b_k 2^(k - SHIFT)
      const high = bitWires.slice(SHIFT);
      const qTerm = { wires: [qWire], coefs: [minusOne] };
      const highTerms = { wires: high, coefs: pow2Shifted.slice(SHIFT) };
      yield [empty, empty, qWire < high[0]
        ? { wires: [qTerm.wires[0], ...highTerms.wires], coefs: [minusOne, ...highTerms.coefs] }
        : { wires: [...highTerms.wires, qWire], coefs: [...highTerms.coefs, minusOne] }];
    }
    // Fill the domain with bit checks of zero-valued wires.
    for (let i = 0; i < padBits; i++) {
      const b = next++;
      yield [{ wires: [b], coefs: bitA }, { wires: [0, b], coefs: bitB }, empty];
    }
    if (next !== nWires) throw new Error(`synthetic circuit: ${next} wires allocated, ${nWires} expected`);
  }

  const labels = new Uint32Array(nWires);
  for (let w = 0; w < nWires; w++) labels[w] = w;
  await writeR1csFile(r1csPath, { prime: p, nWires, nPubOut, nPubIn, nPrvIn: 0, nLabels: nWires, nConstraints }, constraints(), labels);
  const publicSignals = witness.slice(1, 1 + nPublic).map(String);
  return { nConstraints, nWires, nPublic, neurons, weightTerms, witness, publicSignals };
}

// ---- the probe: one process per stage ----

interface StageResult {
  stage: string;
  seconds: number;
  /** CPU time of the stage's process, all threads (loading included): steadier than wall time on a shared machine. */
  cpuSeconds: number;
  peakRssMiB: number;
  [k: string]: unknown;
}

async function runStage(stage: string, dir: string, power: number): Promise<Record<string, unknown>> {
  const r1cs = join(dir, 'circuit.r1cs');
  const zkey = join(dir, 'circuit.zkey');
  const wtns = join(dir, 'witness.wtns');
  switch (stage) {
    case 'generate': {
      const c = await writeSyntheticCircuit(r1cs, { power });
      await writeFile(wtns, encodeWtns(FIELD_PRIME, c.witness));
      await writeFile(join(dir, 'public.json'), JSON.stringify(c.publicSignals));
      return { constraints: c.nConstraints, wires: c.nWires, publicSignals: c.nPublic, weightTerms: c.weightTerms };
    }
    case 'setup': {
      // SCALE_PROBE_DEVKEY: another dev-key writer module to compare (say, an older devkey.ts).
      const { writeDevZkey } = (await import(process.env.SCALE_PROBE_DEVKEY ? pathToFileURL(resolve(process.env.SCALE_PROBE_DEVKEY)).href : '../src/setup/devkey.ts')) as typeof import('../src/setup/devkey.ts');
      const { releaseCurve } = await import('../src/curve.ts');
      const info = await writeDevZkey(r1cs, zkey, stderrProgress());
      await releaseCurve(); // older writers left ffjavascript's shared threaded curve running
      return { domainPower: Math.log2(info.domainSize) };
    }
    case 'prove': {
      const snarkjs = await import('snarkjs');
      const { releaseCurve } = await import('../src/curve.ts');
      const { proof, publicSignals } = await snarkjs.groth16.prove(zkey, { type: 'mem', data: await readFile(wtns) });
      await releaseCurve();
      const expected = JSON.parse(await readFile(join(dir, 'public.json'), 'utf8')) as string[];
      if (JSON.stringify(publicSignals) !== JSON.stringify(expected)) throw new Error('the prover returned other public signals than the witness holds');
      await writeFile(join(dir, 'proof.json'), JSON.stringify(proof));
      return {};
    }
    case 'verify': {
      const snarkjs = await import('snarkjs');
      const { releaseCurve } = await import('../src/curve.ts');
      const vk = await snarkjs.zKey.exportVerificationKey(zkey);
      const proof = JSON.parse(await readFile(join(dir, 'proof.json'), 'utf8'));
      const pub = JSON.parse(await readFile(join(dir, 'public.json'), 'utf8')) as string[];
      const ok = await snarkjs.groth16.verify(vk, pub, proof);
      const wrong = [...pub];
      wrong[0] = String(BigInt(wrong[0]) + 1n);
      const forged = await snarkjs.groth16.verify(vk, wrong, proof);
      await releaseCurve();
      if (!ok || forged) throw new Error(`verification: honest ${ok}, wrong public signal ${forged}`);
      return { valid: ok, wrongPublicRejected: !forged };
    }
    default:
      throw new Error(`unknown stage '${stage}'`);
  }
}

function spawnStage(stage: string, dir: string, power: number, nodeFlags: string[]): Promise<StageResult> {
  return new Promise((done, fail) => {
    const args = [...process.execArgv, ...nodeFlags, fileURLToPath(import.meta.url), '--stage', stage, dir, String(power)];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', fail);
    child.on('close', (code, signal) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return fail(new Error(`stage ${stage} exited with ${code ?? signal}: ${out}`));
      done(JSON.parse(line) as StageResult);
    });
  });
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--stage') {
    const [, stage, dir, power] = argv;
    const t0 = performance.now();
    const extra = await runStage(stage, dir, Number(power));
    const cpu = process.cpuUsage();
    const result: StageResult = { stage, seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMiB: peakRssMiB(), ...extra };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const power = Number(argv.find((a) => /^\d+$/.test(a)) ?? 16);
  const prof = argv.includes('--prof');
  const keep = argv.includes('--keep');
  const dirArg = argv.indexOf('--dir');
  const dir = dirArg >= 0 ? resolve(argv[dirArg + 1]) : await mkdtemp(join(tmpdir(), `scale-probe-${power}-`));
  await mkdir(dir, { recursive: true });
  const stagesArg = argv.indexOf('--stages');
  const stages = stagesArg >= 0 ? argv[stagesArg + 1].split(',') : ['generate', 'setup', 'prove', 'verify'];
  process.stderr.write(`scale probe 2^${power} in ${dir}\n`);
  const results: StageResult[] = [];
  try {
    for (const stage of stages) {
      const flags = prof && stage === 'setup' ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'prof')}`] : [];
      const r = await spawnStage(stage, dir, power, flags);
      results.push(r);
      const { stage: s, seconds, cpuSeconds, peakRssMiB: rss, ...rest } = r;
      process.stderr.write(`${s.padEnd(8)} ${seconds.toFixed(1).padStart(7)} s  ${cpuSeconds.toFixed(1).padStart(7)} s CPU  ${String(rss).padStart(6)} MiB peak RSS  ${JSON.stringify(rest)}\n`);
    }
  } finally {
    if (!keep && !prof && dirArg < 0) await rm(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify({ power, stages: results })}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main(process.argv.slice(2));
}
