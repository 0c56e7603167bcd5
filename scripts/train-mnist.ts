/**
 * Deterministically trains a 784-56-10 ReLU MLP on the `mnist` package digits in plain
 * TypeScript (Float32Array math, Adam + cosine LR decay, softmax cross-entropy,
 * +-1 px random-shift augmentation) and exports it with the
 * ONNX builder to examples/mnist-mlp/.
 *
 *   npx tsx scripts/train-mnist.ts
 *
 * Outputs (examples/mnist-mlp/):
 *   model.onnx        input `input` [1,784] -> Gemm(transB=1) 784->56 -> Relu -> Gemm(transB=1) 56->10 -> `logits` [1,10], opset 13
 *   digit-<label>.json  five held-out test digits, { "input": [784 numbers] }
 *   calibration.json  the first 100 training digits (10 per class), [{ "input": [...] }, ...]
 *   meta.json         training metadata and float test accuracy
 */
import { adamStep, argmax, cosineLr, heUniform, roundInput, shiftImage, shuffleInPlace, softmaxCrossEntropy, writeExampleDigits } from './lib/train-utils.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { buildOnnxModel, mulberry32 } from '../src/onnx/builder.ts';
import { IMAGE_SIZE, INPUT_SIZE, NUM_CLASSES, loadMnistSplit } from './lib/mnist-data.ts';

const SEED = 20240601;
const HIDDEN = 56;
const EPOCHS = 40;
const BATCH = 32;
const SHIFT = 1; // augmentation: random translation by up to SHIFT pixels in x and y (seeded)
const LR = 1e-3;
const LR_FINAL = 1e-4; // cosine decay from LR to LR_FINAL
const EXAMPLE_LABELS = [0, 3, 5, 7, 9];
const CALIBRATION_COUNT = 100;
const DECIMALS = 4;

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(repoRoot, 'examples', 'mnist-mlp');

interface Params {
  w1: Float32Array; // [HIDDEN][INPUT_SIZE] (row = output unit; matches Gemm transB=1 layout)
  b1: Float32Array; // [HIDDEN]
  w2: Float32Array; // [NUM_CLASSES][HIDDEN]
  b2: Float32Array; // [NUM_CLASSES]
}

function initParams(rand: () => number): Params {
  const he = (fanIn: number, n: number) => heUniform(rand, fanIn, n);
  return {
    w1: he(INPUT_SIZE, HIDDEN * INPUT_SIZE),
    b1: new Float32Array(HIDDEN),
    w2: he(HIDDEN, NUM_CLASSES * HIDDEN),
    b2: new Float32Array(NUM_CLASSES),
  };
}

function zerosLike(p: Params): Params {
  return {
    w1: new Float32Array(p.w1.length),
    b1: new Float32Array(p.b1.length),
    w2: new Float32Array(p.w2.length),
    b2: new Float32Array(p.b2.length),
  };
}

/** indices of non-zero pixels (MNIST is ~80% zeros; exploiting it makes layer 1 ~5x cheaper) */
function nonZeros(x: Float32Array): Int32Array {
  const idx: number[] = [];
  for (let i = 0; i < x.length; i++) if (x[i] !== 0) idx.push(i);
  return Int32Array.from(idx);
}

/** forward pass of one sample; fills h (post-ReLU hidden) and logits */
function forward(p: Params, x: Float32Array, nz: Int32Array, h: Float32Array, logits: Float32Array): void {
  for (let o = 0; o < HIDDEN; o++) {
    const row = o * INPUT_SIZE;
    let s = p.b1[o]!;
    for (let k = 0; k < nz.length; k++) {
      const i = nz[k]!;
      s += p.w1[row + i]! * x[i]!;
    }
    h[o] = s > 0 ? s : 0;
  }
  for (let c = 0; c < NUM_CLASSES; c++) {
    const row = c * HIDDEN;
    let s = p.b2[c]!;
    for (let j = 0; j < HIDDEN; j++) s += p.w2[row + j]! * h[j]!;
    logits[c] = s;
  }
}



function evaluate(p: Params, xs: Float32Array[], ys: number[], nzs: Int32Array[]): { acc: number; preds: number[]; logits: Float32Array[] } {
  const h = new Float32Array(HIDDEN);
  let correct = 0;
  const preds: number[] = [];
  const allLogits: Float32Array[] = [];
  for (let n = 0; n < xs.length; n++) {
    const logits = new Float32Array(NUM_CLASSES);
    forward(p, xs[n]!, nzs[n]!, h, logits);
    const pred = argmax(logits);
    preds.push(pred);
    allLogits.push(logits);
    if (pred === ys[n]) correct++;
  }
  return { acc: correct / xs.length, preds, logits: allLogits };
}


function train(p: Params, xs: Float32Array[], ys: number[], nzs: Int32Array[], rand: () => number, log: (s: string) => void): void {
  const grads = zerosLike(p);
  const m = zerosLike(p);
  const v = zerosLike(p);
  const h = new Float32Array(HIDDEN);
  const logits = new Float32Array(NUM_CLASSES);
  const dlog = new Float32Array(NUM_CLASSES);
  const dh = new Float32Array(HIDDEN);
  const shifted = new Float32Array(INPUT_SIZE);
  const order = Array.from(xs.keys());
  const stepsPerEpoch = Math.ceil(xs.length / BATCH);
  const totalSteps = stepsPerEpoch * EPOCHS;
  let t = 0;
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    shuffleInPlace(order, rand); // seeded
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < order.length; start += BATCH) {
      const end = Math.min(start + BATCH, order.length);
      const bs = end - start;
      grads.w1.fill(0);
      grads.b1.fill(0);
      grads.w2.fill(0);
      grads.b2.fill(0);
      for (let bi = start; bi < end; bi++) {
        const n = order[bi]!;
        let x = xs[n]!;
        let nz = nzs[n]!;
        const y = ys[n]!;
        if (SHIFT > 0) {
          const dx = Math.floor(rand() * (2 * SHIFT + 1)) - SHIFT;
          const dy = Math.floor(rand() * (2 * SHIFT + 1)) - SHIFT;
          if (dx !== 0 || dy !== 0) {
            x = shiftImage(x, dx, dy, shifted);
            nz = nonZeros(x);
          }
        }
        forward(p, x, nz, h, logits);
        lossSum += softmaxCrossEntropy(logits, y, bs, dlog);
        if (argmax(logits) === y) correct++;
        // layer 2 grads + backprop to hidden
        dh.fill(0);
        for (let c = 0; c < NUM_CLASSES; c++) {
          const g = dlog[c]!;
          grads.b2[c] = grads.b2[c]! + g;
          const row = c * HIDDEN;
          for (let j = 0; j < HIDDEN; j++) {
            grads.w2[row + j] = grads.w2[row + j]! + g * h[j]!;
            dh[j] = dh[j]! + g * p.w2[row + j]!;
          }
        }
        // layer 1 grads (ReLU mask; only non-zero pixels contribute)
        for (let o = 0; o < HIDDEN; o++) {
          if (h[o]! <= 0) continue;
          const g = dh[o]!;
          grads.b1[o] = grads.b1[o]! + g;
          const row = o * INPUT_SIZE;
          for (let k = 0; k < nz.length; k++) {
            const i = nz[k]!;
            grads.w1[row + i] = grads.w1[row + i]! + g * x[i]!;
          }
        }
      }
      t++;
      const lr = cosineLr(t, totalSteps, LR, LR_FINAL);
      adamStep(p.w1, grads.w1, m.w1, v.w1, lr, t);
      adamStep(p.b1, grads.b1, m.b1, v.b1, lr, t);
      adamStep(p.w2, grads.w2, m.w2, v.w2, lr, t);
      adamStep(p.b2, grads.b2, m.b2, v.b2, lr, t);
    }
    log(`epoch ${epoch + 1}/${EPOCHS}: loss ${(lossSum / xs.length).toFixed(4)}, train acc ${((100 * correct) / xs.length).toFixed(2)}%`);
  }
}

function exportOnnx(p: Params): Uint8Array {
  return buildOnnxModel({
    opset: 13,
    graphName: 'mnist_mlp',
    producer: 'zkonnx scripts/train-mnist.ts',
    inputs: [{ name: 'input', shape: [1, INPUT_SIZE] }],
    outputs: [{ name: 'logits', shape: [1, NUM_CLASSES] }],
    initializers: [
      { name: 'fc1.weight', dims: [HIDDEN, INPUT_SIZE], data: p.w1 },
      { name: 'fc1.bias', dims: [HIDDEN], data: p.b1 },
      { name: 'fc2.weight', dims: [NUM_CLASSES, HIDDEN], data: p.w2 },
      { name: 'fc2.bias', dims: [NUM_CLASSES], data: p.b2 },
    ],
    nodes: [
      { name: 'fc1', op: 'Gemm', inputs: ['input', 'fc1.weight', 'fc1.bias'], outputs: ['fc1_out'], attrs: { transB: 1 } },
      { name: 'relu1', op: 'Relu', inputs: ['fc1_out'], outputs: ['relu1_out'] },
      { name: 'fc2', op: 'Gemm', inputs: ['relu1_out', 'fc2.weight', 'fc2.bias'], outputs: ['logits'], attrs: { transB: 1 } },
    ],
  });
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const log = (s: string): void => console.log(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${s}`);

  const { train: trainSet, test: testSet } = loadMnistSplit();
  log(`loaded mnist split: train ${trainSet.x.length}, test ${testSet.x.length}`);
  const trainNz = trainSet.x.map(nonZeros);
  const testNz = testSet.x.map(nonZeros);

  const rand = mulberry32(SEED);
  const params = initParams(rand);
  const tTrain = performance.now();
  train(params, trainSet.x, trainSet.y, trainNz, rand, log);
  const trainSeconds = (performance.now() - tTrain) / 1000;

  const { acc: testAcc, preds, logits: tsLogits } = evaluate(params, testSet.x, testSet.y, testNz);
  const { acc: trainAcc } = evaluate(params, trainSet.x, trainSet.y, trainNz);
  log(`training took ${trainSeconds.toFixed(1)}s; float train acc ${(100 * trainAcc).toFixed(2)}%, test acc ${(100 * testAcc).toFixed(2)}%`);

  // Export and cross-check with onnxruntime.
  const bytes = exportOnnx(params);
  const session = await ort.InferenceSession.create(Buffer.from(bytes));
  let ortCorrect = 0;
  let disagreements = 0;
  let maxAbsDiff = 0;
  for (let n = 0; n < testSet.x.length; n++) {
    const out = await session.run({ input: new ort.Tensor('float32', testSet.x[n]!, [1, INPUT_SIZE]) });
    const l = out.logits!.data as Float32Array;
    const pred = argmax(l);
    if (pred === testSet.y[n]) ortCorrect++;
    if (pred !== preds[n]) disagreements++;
    for (let c = 0; c < NUM_CLASSES; c++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(l[c]! - tsLogits[n]![c]!));
  }
  const ortAcc = ortCorrect / testSet.x.length;
  log(`onnxruntime test acc ${(100 * ortAcc).toFixed(2)}%, argmax disagreements with TS forward: ${disagreements}, max |logit diff| ${maxAbsDiff.toExponential(2)}`);
  if (ortAcc !== testAcc || disagreements !== 0) throw new Error('onnxruntime and TS forward pass disagree');
  if (testAcc < 0.93) throw new Error(`test accuracy ${testAcc} below 93%`);

  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'model.onnx'), bytes);

  // Example digits: for each chosen label, the first held-out test digit the model gets right
  // with a clear margin (top-1 minus top-2 logit >= 2), so it also survives quantization.
  const { labels, testIndices } = writeExampleDigits(outDir, testSet, EXAMPLE_LABELS, preds, tsLogits, DECIMALS);

  // Calibration: the first 100 training digits. The train set is interleaved round-robin by
  // class, so this is exactly 10 digits of every class.
  const calibration: { input: number[] }[] = [];
  for (let k = 0; k < CALIBRATION_COUNT; k++) calibration.push({ input: roundInput(trainSet.x[k]!, DECIMALS) });
  writeFileSync(join(outDir, 'calibration.json'), '[\n' + calibration.map((c) => JSON.stringify(c)).join(',\n') + '\n]\n');

  const meta = {
    trainedBy: 'scripts/train-mnist.ts',
    seed: SEED,
    epochs: EPOCHS,
    trainSize: trainSet.x.length,
    testSize: testSet.x.length,
    floatTestAccuracy: Number(testAcc.toFixed(4)),
    labels,
    architecture: `Gemm(transB=1) ${INPUT_SIZE}->${HIDDEN}, Relu, Gemm(transB=1) ${HIDDEN}->${NUM_CLASSES}`,
    input: { name: 'input', shape: [1, INPUT_SIZE], range: [0, 1] },
    output: { name: 'logits', shape: [1, NUM_CLASSES] },
    opset: 13,
    optimizer: { name: 'adam', batchSize: BATCH, lr: LR, lrFinal: LR_FINAL, schedule: 'cosine' },
    augmentation: `random shift by up to ${SHIFT} px in x and y`,
    split:
      'scripts/lib/mnist-data.ts loadMnistSplit(): per class, last 200 samples = test, rest = train; both interleaved round-robin by class',
    floatTrainAccuracy: Number(trainAcc.toFixed(4)),
    testIndices,
    calibration: { count: CALIBRATION_COUNT, trainIndices: `0..${CALIBRATION_COUNT - 1}`, perClass: CALIBRATION_COUNT / NUM_CLASSES },
    inputDecimals: DECIMALS,
  };
  writeFileSync(join(outDir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  log(`wrote ${outDir} (model.onnx ${bytes.length} bytes)`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
