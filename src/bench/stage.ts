/**
 * One benchmark stage in its own process, so its peak memory is its own: `node stage.js <stage> <json args>`
 * prints one JSON line { seconds, peakRssMiB, ... }. Used by `zkonnx bench` for the circomlib-ml baseline
 * (zkonnx's own stages run through the CLI, whose --json reports the same fields).
 */
import { peakRssMiB } from '../progress.ts';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compileCircuit } from '../compile/compile.ts';
import { releaseCurve } from '../curve.ts';
import { loadSnarkjs } from '../toolchain.ts';
import { computeWitness } from '../prove/witness.ts';
import { writeDevZkey } from '../setup/devkey.ts';

const [stage, raw] = process.argv.slice(2);
const a = JSON.parse(raw ?? '{}') as { dir: string; input?: string };
const snarkjs = await loadSnarkjs();
const t0 = performance.now();
let extra: Record<string, unknown> = {};
switch (stage) {
  case 'baseline-compile': {
    const r = await compileCircuit(join(a.dir, 'circuit.circom'), a.dir, 'auto', { circomlib: true });
    extra = { constraints: r.constraints, nonLinear: r.nonLinear, linear: r.linear, wires: r.wires, publicSignals: r.publicSignals, circomPeakRssMiB: r.circomPeakRssMiB };
    break;
  }
  case 'baseline-setup': {
    const info = await writeDevZkey(join(a.dir, 'circuit.r1cs'), join(a.dir, 'circuit.zkey'));
    // Exported here: snarkjs' export terminates the shared curve, which would stall later proofs in the caller.
    await writeFile(join(a.dir, 'verification_key.json'), JSON.stringify(await snarkjs.zKey.exportVerificationKey(join(a.dir, 'circuit.zkey'))));
    extra = { domainPower: Math.log2(info.domainSize) };
    break;
  }
  case 'baseline-prove': {
    const input = JSON.parse(await readFile(a.input!, 'utf8'));
    const w = await computeWitness(join(a.dir, 'circuit_js', 'circuit.wasm'), input);
    await snarkjs.groth16.prove(join(a.dir, 'circuit.zkey'), { type: 'mem', data: w.bin });
    break;
  }
  default:
    throw new Error(`unknown stage '${stage}'`);
}
const seconds = (performance.now() - t0) / 1000;
await releaseCurve();
process.stdout.write(JSON.stringify({ seconds, peakRssMiB: peakRssMiB(), ...extra }) + '\n');
