/**
 * Every template and function name in circuits/*.circom is unique: circom (and the direct backend) refuse a
 * circuit that includes two files defining the same name, so a clash only shows up on the models that happen
 * to use both gadgets (e.g. a Div of two activations next to a LayerNorm).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('circuits/', () => {
  it('defines each template and function name once', () => {
    const seen = new Map<string, string[]>();
    for (const f of readdirSync('circuits').filter((n) => n.endsWith('.circom'))) {
      const text = readFileSync(`circuits/${f}`, 'utf8').replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
      for (const m of text.matchAll(/\b(?:template|function)\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)) {
        seen.set(m[1], [...(seen.get(m[1]) ?? []), f]);
      }
    }
    expect(seen.size).toBeGreaterThan(20);
    const dup = [...seen].filter(([, files]) => files.length > 1).map(([n, files]) => `${n}: ${files.join(', ')}`);
    expect(dup).toEqual([]);
  });
});
