import * as ort from 'onnxruntime-node';

const sessions = new Map<Uint8Array, Promise<ort.InferenceSession>>();

/** Run a float model in onnxruntime-node on one flat input; returns the flat first output. */
export async function runOrt(bytes: Uint8Array, inputName: string, shape: number[], x: ArrayLike<number>): Promise<Float32Array> {
  let s = sessions.get(bytes);
  if (!s) {
    s = ort.InferenceSession.create(Buffer.from(bytes));
    sessions.set(bytes, s);
  }
  const session = await s;
  const out = await session.run({ [inputName]: new ort.Tensor('float32', Float32Array.from(x), shape) });
  return out[session.outputNames[0]].data as Float32Array;
}
