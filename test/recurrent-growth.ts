/**
 * Error growth with sequence length (issue 14): the integer reference's worst error against onnxruntime for
 * LSTM, GRU and RNN at hidden 32, input 8, seq 4 ... 64, measured as test/recurrent.test.ts measures seq 32 (which
 * asserts the 2% bound there): calibration on 256 random sequences, 8 fresh ones, every element of Y, in % of
 * the largest |output| over the calibration set. Also the worst error at the first and the last step of Y, and
 * the grid step of h (the shared uint8 grid's scale) in % of the same range. Then, for the longest sequence, the
 * worst error of Y by blocks of 8 steps (does it compound along the sequence, or level off?).
 *
 *   npx tsx test/recurrent-growth.ts [seq ...]
 */
import { importGraph } from '../src/ir/import.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { quantizeInput, quantizeModel } from '../src/quantize/quantize.ts';
import { runFloat } from '../src/reference/float.ts';
import { runInteger } from '../src/reference/integer.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { runOrt } from './helpers/ort.ts';
import { cellModel } from './helpers/recurrent-models.ts';

const H = 32;
const I = 8;
const seqs = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [4, 8, 16, 32, 64];

const profiles: string[] = [];
console.log('| cell | seq | worst error (% of range) | at step 1 | at the last step | output grid step | constraints |');
console.log('|---|---|---|---|---|---|---|');
for (const cell of ['LSTM', 'GRU', 'RNN'] as const) {
  for (const seq of seqs) {
    const m = cellModel(`${cell}-${seq}`, seq, I, { cell, hidden: H, init: 'zeros' }, 9);
    const model = importGraph(loadOnnx(m.bytes));
    const cal = randomInputs(seq * I, 256, 21);
    const q = quantizeModel(model, cal);
    let R = 0;
    for (const x of cal) for (const v of runFloat(model, x)) R = Math.max(R, Math.abs(v));
    let worst = 0;
    let first = 0;
    let last = 0;
    const blocks = new Array<number>(Math.ceil(seq / 8)).fill(0);
    for (const x of randomInputs(seq * I, 8, 22)) {
      const o = Array.from(await runOrt(m.bytes, m.inputName, m.inputShape, x));
      const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
      out.forEach((v, i) => {
        const e = Math.abs(v - o[i]);
        worst = Math.max(worst, e);
        if (i < H) first = Math.max(first, e);
        if (i >= (seq - 1) * H) last = Math.max(last, e);
        blocks[Math.floor(i / H / 8)] = Math.max(blocks[Math.floor(i / H / 8)], e);
      });
    }
    const { qDef } = await import('../src/ops/registry.ts');
    const constraints = q.layers.reduce((s, l) => s + qDef(l).constraints(l as never), 0);
    const grid = q.output.quant.kind === 'u8' ? q.output.quant.scale : NaN;
    const pct = (v: number) => `${((100 * v) / R).toFixed(2)}%`;
    console.log(`| ${cell} | ${seq} | ${pct(worst)} | ${pct(first)} | ${pct(last)} | ${pct(grid)} | ${constraints} |`);
    if (seq === Math.max(...seqs)) profiles.push(`${cell} seq ${seq}, worst error by 8 steps: ${blocks.map(pct).join(' ')}`);
  }
}
console.log(profiles.join('\n'));
