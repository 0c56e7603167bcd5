/** Bench output: a terminal table, Markdown for the README, and SVG charts (vega-lite, no browser). */
import { importOptional } from '../toolchain.ts';
import type { BenchReport, ModelReport, Stat } from './bench.ts';

const n = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toLocaleString('en'));
const sec = (s: Stat) => (s.median < 1 ? `${(s.median * 1000).toFixed(0)} ms` : `${s.median.toFixed(2)} s`);
const range = (s: Stat) => (s.runs > 1 ? `${sec(s)} (${sec({ ...s, median: s.min })}-${sec({ ...s, median: s.max })})` : sec(s));
const mib = (x: number | null) => (x === null ? '-' : `${x} MiB`);
const kb = (b: number) => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MB` : `${(b / 1024).toFixed(1)} kB`);
const ratio = (x: number | null) => (x === null ? '-' : `${x.toFixed(1)}x`);
const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);

function rows(r: BenchReport): string[][] {
  return r.models.map((m) => [
    m.name, n(m.constraints), n(m.nonLinear), `2^${m.domainPower}`, sec(m.timings.compile), sec(m.timings.setup), range(m.timings.witness),
    range(m.timings.prove), String(m.timings.prove.runs), range(m.timings.verify), mib(m.memory.prove), kb(m.sizes.zkeyBytes),
    m.accuracy ? `${pct(m.accuracy.top1Agreement)} / ${m.accuracy.worstAbsError.toPrecision(2)}` : '-',
  ]);
}

const HEAD = ['model', 'constraints', 'non-linear', 'domain', 'compile', 'setup', 'witness', 'prove', 'proofs', 'verify', 'prove RSS', 'zkey', 'top-1 / worst err'];

function baselineRows(r: BenchReport): string[][] {
  return r.models.filter((m) => m.baseline).map((m) => {
    const b = m.baseline!;
    return [
      m.name, n(m.constraints), n(b.constraints ?? b.predictedNonLinear) + (b.compiled ? '' : ' (formula)'), ratio(b.ratios.constraints ?? b.predictedNonLinear / m.constraints),
      range(m.timings.prove), b.timings ? range(b.timings.prove) : '-', ratio(b.ratios.prove),
      sec(m.timings.setup), b.timings ? sec(b.timings.setup) : '-', ratio(b.ratios.setup),
      mib(m.memory.prove), b.memory ? mib(b.memory.prove) : '-', ratio(b.ratios.memory),
    ];
  });
}

const BHEAD = ['model', 'zkonnx', 'circomlib-ml', 'ratio', 'prove', 'prove (circomlib-ml)', 'ratio', 'setup', 'setup (circomlib-ml)', 'ratio', 'prove RSS', 'prove RSS (circomlib-ml)', 'ratio'];

function evmRows(r: BenchReport): string[][] {
  return r.models.filter((m) => m.evm).map((m) => {
    const e = m.evm!;
    return [
      m.name, e.layout, n(e.publicSignals), `${n(e.bytecodeBytes)}${e.predicted ? ' (predicted, over EIP-170)' : ''}`,
      n(e.verifyGas), n(e.maxVerifyGas), n(e.transactionGas),
    ];
  });
}

const EHEAD = ['model', 'public inputs', 'public signals', 'EVM bytecode', 'verifyProof gas', 'worst case', 'as a transaction'];
const EVM_NOTE = 'EVM verifier (`zkonnx export solidity`): runtime bytecode from solc 0.8 with the optimizer on (EIP-170 limit 24,576 bytes); verifyProof gas on @ethereumjs/evm for the first proof, execution only (as a transaction: + 21,000 + calldata); worst case: every public signal non-zero (a zero signal skips its ecMul).';

function textTable(head: string[], body: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  return [fmt(head), ...body.map(fmt)].join('\n');
}

function mdTable(head: string[], body: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function layerRows(m: ModelReport): string[][] {
  return [
    ...m.layers.filter((l) => l.constraints > 0 || l.kind !== 'reshape').map((l) => [l.name, l.kind, `[${l.inShape}] -> [${l.outShape}]`, l.bits, n(l.constraints)]),
    ['(outputs)', 'output', '', '', n(m.outputConstraints)],
  ];
}

export function formatText(r: BenchReport): string {
  const parts = [textTable(HEAD, rows(r))];
  const b = baselineRows(r);
  if (b.length) parts.push('', 'versus circomlib-ml (weights as private inputs, 254-bit ReLU and comparisons):', textTable(BHEAD, b));
  const e = evmRows(r);
  if (e.length) parts.push('', EVM_NOTE, textTable(EHEAD, e));
  for (const m of r.models) {
    parts.push('', `${m.name}: constraints per layer (sum ${n(m.predictedConstraints)}, r1cs ${n(m.constraints)})`, textTable(['layer', 'op', 'shape', 'bits', 'constraints'], layerRows(m)));
    for (const note of [...m.notes, ...(m.baseline?.note ? [`baseline: ${m.baseline.note}`] : [])]) parts.push(`note: ${note}`);
  }
  parts.push('', `${r.machine}; ${r.date}; witness/prove/verify: median (min-max) of each model's proofs in one process; RSS: each stage in its own process; a proof is 256 bytes.`);
  return parts.join('\n');
}

export function formatMarkdown(r: BenchReport): string {
  const parts = [mdTable(HEAD, rows(r))];
  const b = baselineRows(r);
  if (b.length) parts.push('', mdTable(BHEAD, b));
  const e = evmRows(r);
  if (e.length) parts.push('', mdTable(EHEAD, e), '', EVM_NOTE);
  const notes = [
    ...(b.length ? ['circomlib-ml keeps the weights private (signal inputs, one constraint per multiply-accumulate); zkonnx compiles them in as constants, so its circuit and key are for one set of weights. The model hash in every bundle says which.'] : []),
    ...r.models.flatMap((m) => [
      ...(m.baseline?.note ? [`${m.name} baseline: ${m.baseline.note}.`] : []),
      ...m.notes.filter((x) => x.startsWith('EVM verifier')).map((x) => `${m.name}: ${x}.`),
    ]),
  ];
  if (notes.length) parts.push('', ...notes.map((x) => `- ${x}`));
  parts.push('', `Measured by \`npm run bench\` on ${r.date}: ${r.machine}. Witness, prove and verify: median (min-max) of the model's proofs (column "proofs") in one warm process; compile and setup: one run; peak RSS: each stage in its own process; a Groth16 proof is 256 bytes. Top-1 / worst err: agreement of the quantized model's argmax with onnxruntime's float output, and the largest absolute difference of any output, on the sample inputs.`);
  return parts.join('\n');
}

/** Render a vega-lite spec to SVG in Node (vega's headless view: no browser, no canvas). */
export async function renderSvg(spec: object): Promise<string> {
  const vega = await importOptional('vega', () => import('vega'));
  const vl = await importOptional('vega-lite', () => import('vega-lite'));
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  return view.toSVG();
}

/** Constraints per layer, one bar per layer with constraints, grouped by model. */
export function layersChartSpec(r: BenchReport): object {
  const values = r.models.flatMap((m) => m.layers.filter((l) => l.constraints > 0).map((l) => ({ model: m.name, layer: `${l.name} (${l.kind})`, constraints: l.constraints })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'zkonnx: constraints per layer',
    data: { values },
    facet: { row: { field: 'model', type: 'nominal', title: null } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 420,
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'layer', type: 'nominal', sort: null, title: null },
        x: { field: 'constraints', type: 'quantitative', title: 'constraints' },
        color: { field: 'model', type: 'nominal', legend: null },
      },
    },
  };
}

/** Prove time against constraints across the models (and the baseline where it was proven). */
export function proveChartSpec(r: BenchReport): object {
  const values = r.models.flatMap((m) => [
    { model: m.name, system: 'zkonnx', constraints: m.constraints, prove: m.timings.prove.median },
    ...(m.baseline?.timings && m.baseline.constraints ? [{ model: m.name, system: 'circomlib-ml construction', constraints: m.baseline.constraints, prove: m.baseline.timings.prove.median }] : []),
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Groth16 prove time vs constraints (snarkjs, this machine)',
    width: 480,
    height: 300,
    data: { values },
    layer: [
      {
        mark: { type: 'point', filled: true, size: 70, tooltip: true },
        encoding: {
          x: { field: 'constraints', type: 'quantitative', scale: { type: 'log' }, title: 'constraints (log)' },
          y: { field: 'prove', type: 'quantitative', scale: { type: 'log' }, title: 'prove time, s (log)' },
          color: { field: 'system', type: 'nominal', title: null },
          shape: { field: 'system', type: 'nominal', title: null },
        },
      },
      {
        mark: { type: 'text', dx: 6, align: 'left', fontSize: 9 },
        encoding: {
          x: { field: 'constraints', type: 'quantitative', scale: { type: 'log' } },
          y: { field: 'prove', type: 'quantitative', scale: { type: 'log' } },
          text: { field: 'model' },
        },
      },
    ],
  };
}

export async function writeCharts(r: BenchReport, dir: string, write: (path: string, text: string) => Promise<void>): Promise<string[]> {
  const files = [
    [`${dir}/constraints-per-layer.svg`, await renderSvg(layersChartSpec(r))],
    [`${dir}/prove-vs-constraints.svg`, await renderSvg(proveChartSpec(r))],
  ] as const;
  for (const [f, svg] of files) await write(f, svg);
  return files.map(([f]) => f);
}
