import { existsSync, statSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { publicInputLayoutOf, readManifest, readQuantizedModel, visibilityOf } from '../artifacts/manifest.ts';
import { loadModelFile } from '../compile/model.ts';
import { emitCircuit, OUTPUT_COST_FORMULA, UNPACK_COST_FORMULA } from '../emit/circuit.ts';
import { InputError } from '../errors.ts';
import { flattenCalibration } from '../io/input.ts';
import { quantizeModel } from '../quantize/quantize.ts';
import { DEFAULT_VISIBILITY, INPUT_VISIBILITIES, OUTPUT_VISIBILITIES, type PublicInputLayout, type Visibility } from '../verify/layout.ts';
import type { QuantizedModel } from '../ir/types.ts';
import { parseDimArgs, resolveVisibility } from '../compile/model.ts';
import { dimOption, emit, globalOptions, readInputFile, type GlobalArgs } from './common.ts';
import { publicInputsOption, visibilityFromArgs, visibilityOptions, visibilityText, type VisibilityArgs } from './compile.ts';

/**
 * The total constraints of each visibility choice, one field changed at a time from `vis`: every input and
 * output setting, and the other parameter setting when a model quantized that way is at hand (`other`).
 */
function visibilityCosts(q: QuantizedModel, other: QuantizedModel | null, layout: PublicInputLayout, vis: Visibility): Record<string, number> {
  const cost = (m: QuantizedModel, v: Visibility) => emitCircuit(m, { publicInputs: layout, visibility: v }).constraints;
  const out: Record<string, number> = {};
  for (const input of INPUT_VISIBILITIES) out[`input ${input}`] = cost(q, { ...vis, input });
  for (const output of OUTPUT_VISIBILITIES) out[`output ${output}`] = cost(q, { ...vis, output });
  out[`params ${vis.params}`] = cost(q, vis);
  if (other) {
    const params = vis.params === 'hashed' ? 'fixed' : 'hashed';
    out[`params ${params}`] = cost(other, { ...vis, params });
  }
  return out;
}

interface Args extends GlobalArgs, VisibilityArgs {
  target: string;
  calibration?: string;
  publicInputs?: PublicInputLayout;
  dim?: string[];
}

interface Row {
  layer: string;
  op: string;
  shape: string;
  bits: string;
  constraints: number | null;
}

function table(rows: Row[]): string {
  const head = { layer: 'layer', op: 'op', shape: 'shape', bits: 'bits', constraints: 'constraints' };
  const cells = [head, ...rows.map((r) => ({ ...r, constraints: r.constraints === null ? '-' : String(r.constraints) }))];
  const keys = Object.keys(head) as (keyof typeof head)[];
  const width = keys.map((k) => Math.max(...cells.map((c) => String(c[k]).length)));
  return cells.map((c) => keys.map((k, i) => String(c[k]).padEnd(width[i])).join('  ').trimEnd()).join('\n');
}

export const inspectCommand: CommandModule<object, Args> = {
  command: 'inspect <target>',
  describe: 'Per-layer table (op, shapes, bits, constraints) of a model.onnx or a compiled DIR',
  builder: (y) =>
    y
      .positional('target', { type: 'string', demandOption: true, describe: 'model.onnx or artifact directory' })
      .options({
        ...globalOptions,
        calibration: { type: 'string', describe: 'For a model.onnx: calibrate to show bits and constraints' },
        // No default: a compiled DIR shows its own layout unless another is asked for.
        'public-inputs': { choices: publicInputsOption['public-inputs'].choices, describe: 'Public-input layout to cost (default: a DIR\'s own, else plain)' },
        // No defaults: a compiled DIR shows its own visibility unless another is asked for.
        ...visibilityOptions,
        ...dimOption,
      }) as never,
  async handler(args) {
    if (!existsSync(args.target)) throw new InputError(`'${args.target}' does not exist.`);
    let rows: Row[];
    let total: number | null = null;
    let extra: Record<string, unknown> = {};
    const isDir = statSync(args.target).isDirectory();
    const manifest = isDir ? await readManifest(args.target) : undefined;
    const layout = args.publicInputs ?? (manifest ? publicInputLayoutOf(manifest) : 'plain');
    const vis = resolveVisibility({ ...(manifest ? visibilityOf(manifest) : DEFAULT_VISIBILITY), ...Object.fromEntries(Object.entries(visibilityFromArgs(args)).filter(([, v]) => v !== undefined)) });
    // A model.onnx with a calibration is quantized both ways (constant and private parameters), so the cost
    // of either parameter setting can be shown; a DIR has only the one it was compiled with.
    const quantized = isDir
      ? { fixed: visibilityOf(manifest!).params === 'fixed' ? await readQuantizedModel(args.target) : null, hashed: visibilityOf(manifest!).params === 'hashed' ? await readQuantizedModel(args.target) : null }
      : args.calibration
        ? await (async () => {
            const calJson = await readInputFile(args.calibration, 'calibration');
            const { model } = await loadModelFile(args.target, { dims: parseDimArgs(args.dim), sample: Array.isArray(calJson) ? calJson[0] : undefined });
            const cal = flattenCalibration(calJson, model.input, args.calibration);
            return { fixed: quantizeModel(model, cal), hashed: quantizeModel(model, cal, { privateParams: true }) };
          })()
        : null;
    const q = quantized ? quantized[vis.params] : null;
    if (quantized && !q) {
      throw new InputError(`'${args.target}' was compiled with ${visibilityOf(manifest!).params} parameters: inspecting it with --param-visibility ${vis.params} needs the model quantized that way.`, {
        hint: 'Inspect the model.onnx with --calibration FILE instead (it is quantized both ways).',
      });
    }
    if (q) {
      const emitted = emitCircuit(q, { publicInputs: layout, visibility: vis });
      rows = emitted.layers.map((l) => ({ layer: l.name, op: l.kind, shape: `[${l.inShape}] -> [${l.outShape}]`, bits: l.bits, constraints: l.constraints }));
      rows.push({ layer: q.output.name, op: 'output', shape: `[${q.output.shape}]`, bits: q.output.quant.kind === 'u8' ? 'uint8' : 'wide', constraints: emitted.outputConstraints });
      total = emitted.constraints;
      const other = quantized![vis.params === 'hashed' ? 'fixed' : 'hashed'];
      extra = {
        publicInputLayout: layout, ...(layout === 'packed' ? { unpackCost: UNPACK_COST_FORMULA } : {}),
        visibility: visibilityText(vis),
        visibilityCosts: Object.entries(visibilityCosts(q, other, layout, vis)).map(([k, v]) => `${k} ${v}`).join(', '),
      };
      if (manifest) {
        const m = manifest;
        extra = { ...extra, compiledConstraints: m.circuit.constraints, wires: m.circuit.wires, publicSignals: m.circuit.publicSignals, keyKind: m.setup?.keyKind ?? null };
      }
    } else {
      const { model } = await loadModelFile(args.target, { dims: parseDimArgs(args.dim) });
      rows = model.layers.map((l) => ({ layer: l.name, op: l.kind, shape: `[${l.inShape}] -> [${l.outShape}]`, bits: '-', constraints: null }));
      if (model.notes.length) extra = { notes: model.notes.join('; ') };
    }
    if (q?.notes.length) extra = { ...extra, notes: q.notes.join('; ') };
    // Several graph inputs or outputs (or an integer input): each, as the input file and the outputs name them.
    const io = q ?? (isDir ? null : (await loadModelFile(args.target, { dims: parseDimArgs(args.dim) })).model);
    const describe = (p: { name: string; shape: number[]; dtype?: string; softmaxOmitted?: string; quant?: { kind: string; lo?: number[]; hi?: number[] } }) =>
      `${p.name} [${p.shape}]${p.dtype ? ` ${p.dtype}` : ''}${p.quant?.kind === 'acc' && p.quant.lo ? ` in [${p.quant.lo[0]}, ${p.quant.hi![0]}]` : ''}${p.softmaxOmitted ? ` (logits: ${p.softmaxOmitted} omitted)` : ''}`;
    if (io?.input.parts) extra = { ...extra, inputs: io.input.parts.map(describe).join(', ') };
    if (io?.output.parts) extra = { ...extra, outputs: io.output.parts.map(describe).join(', ') };
    else if (io?.output.softmaxOmitted) extra = { ...extra, outputs: describe(io.output) };
    emit(args, { layers: rows, totalConstraints: total, outputCost: OUTPUT_COST_FORMULA, ...extra }, () =>
      [
        table(rows),
        total === null ? '(pass --calibration FILE, or inspect a compiled DIR, for bit widths and constraints)' : `total: ${total} constraints (sum of the op cost formulas)`,
        ...Object.entries(extra).map(([k, v]) => `${k}: ${v}`),
      ].join('\n'),
    );
  },
};
