/**
 * Issue 10 (hardening), input and calibration files: nesting deeper than the input's rank is refused where it
 * starts (iteratively: a file nested 200,000 deep is an InputError, not a stack overflow), and a value that
 * is not a finite number is named for what it is (1e400 is Infinity, not "null").
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.ts';
import { flattenCalibration, flattenInput } from '../src/io/input.ts';
import type { TensorSpec } from '../src/ir/types.ts';

const spec: TensorSpec = { name: 'input', shape: [1, 4] };

function inputError(f: () => unknown): InputError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return e as InputError;
  }
  throw new Error('accepted');
}

/** `{"input": [[[...[1, 2, 3, 4]...]]]}` as text, the array `depth` deep (JSON.stringify cannot write it). */
const deepInputText = (depth: number) => `{"input":${'['.repeat(depth)}1,2,3,4${']'.repeat(depth)}}`;

describe('nesting', () => {
  it('flat, or nested as the shape (up to the rank), is read as before', () => {
    expect([...flattenInput([1, 2, 3, 4], spec)]).toEqual([1, 2, 3, 4]);
    expect([...flattenInput({ input: [[1, 2], [3, 4]] }, spec)]).toEqual([1, 2, 3, 4]);
    expect([...flattenInput({ input: [[1, 2, 3, 4]] }, spec)]).toEqual([1, 2, 3, 4]);
    // Rank 0 or 1: a flat array is always fine.
    expect([...flattenInput([7], { name: 'x', shape: [] })]).toEqual([7]);
    expect([...flattenInput([1, 2], { name: 'x', shape: [2] })]).toEqual([1, 2]);
    const rank4: TensorSpec = { name: 'img', shape: [1, 1, 2, 2] };
    expect([...flattenInput([[[[1, 2], [3, 4]]]], rank4)]).toEqual([1, 2, 3, 4]);
  });

  it('an input nested 200,000 deep is an InputError naming where, not a RangeError', () => {
    const value = JSON.parse(deepInputText(200_000));
    const e = inputError(() => flattenInput(value, spec));
    expect(e.message).toMatch(/^input: the value at input\[0\]\[0\] is an array nested 3 deep, deeper than the input can be \('input' has shape \[1,4\], rank 2: at most 2 deep\)/);
  });

  it('one level deeper than the rank is refused too', () => {
    expect(inputError(() => flattenInput({ input: [[[1, 2, 3, 4]]] }, spec)).message).toMatch(/value at input\[0\]\[0\] is an array nested 3 deep/);
    expect(inputError(() => flattenInput({ input: [[1, 2], [3, [4]]] }, spec)).message).toMatch(/value at input\[1\]\[1\] is an array nested 3 deep/);
  });

  it('a calibration file goes through the same check, naming the entry', () => {
    const cal = JSON.parse(`[[1,2,3,4],${deepInputText(200_000)}]`);
    expect(inputError(() => flattenCalibration(cal, spec)).message).toMatch(/^calibration\[1\]: the value at input\[0\]\[0\] is an array nested 3 deep/);
  });

  it('too many or too few values still says how many', () => {
    expect(inputError(() => flattenInput([1, 2, 3, 4, 5], spec)).message).toMatch(/input 'input' has 5 values, the model expects 4/);
    expect(inputError(() => flattenInput([[1, 2], [3]], spec)).message).toMatch(/input 'input' has 3 values, the model expects 4/);
  });
});

describe('values that are not finite numbers are named for what they are', () => {
  it('1e400 (Infinity once parsed) and -1e400', () => {
    const e = inputError(() => flattenInput(JSON.parse('{"input":[1e400,0,0,0]}'), spec));
    expect(e.message).toBe('input: value at input[0] is Infinity (not a finite number; a literal such as 1e400 overflows a double), expected a finite number.');
    expect(e.message).not.toMatch(/null/);
    expect(inputError(() => flattenInput(JSON.parse('[0,-1e400,0,0]'), spec)).message).toMatch(/value at input\[1\] is -Infinity \(not a finite number/);
    expect(inputError(() => flattenInput([0, 0, NaN, 0], spec)).message).toMatch(/value at input\[2\] is NaN \(not a number\)/);
  });

  it('strings quoted and cut, objects and null by kind', () => {
    expect(inputError(() => flattenInput([0, '5', 0, 0], spec)).message).toMatch(/value at input\[1\] is the string "5", expected a finite number/);
    const long = inputError(() => flattenInput([0, 'x'.repeat(1_000_000), 0, 0], spec)).message;
    expect(long).toMatch(/is the string "x{40}\.\.\." \(1000000 characters\)/);
    expect(long.length).toBeLessThan(200);
    expect(inputError(() => flattenInput([[0, 0], [{ a: 1 }, 0]], spec)).message).toMatch(/value at input\[1\]\[0\] is an object, expected/);
    expect(inputError(() => flattenInput([0, 0, 0, null], spec)).message).toMatch(/value at input\[3\] is null, expected/);
    expect(inputError(() => flattenInput([true, 0, 0, 0], spec)).message).toMatch(/value at input\[0\] is true, expected/);
  });

  it('unknown input names are listed, cut, and at most five', () => {
    const keys = Object.fromEntries(['input', ...Array.from({ length: 8 }, (_, i) => `k${i}${'z'.repeat(i === 0 ? 100 : 0)}`)].map((k) => [k, [0, 0, 0, 0]]));
    const m = inputError(() => flattenInput(keys, spec)).message;
    expect(m).toMatch(/unknown input name\(s\) 'k0z{38}\.\.\.', 'k1', 'k2', 'k3', 'k4' and 3 more; the model's input is 'input'/);
  });
});
