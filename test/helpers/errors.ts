/** The error `f` throws (the test fails if it returns). */
export function catchErr(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}
