/** Code examples from README.md, so the tests run exactly what users copy. */
import { readFileSync } from 'node:fs';

/** The fenced block right after `<!-- example: ID -->` in README.md. */
export function readmeExample(id: string): string {
  const text = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const m = new RegExp(`<!-- example: ${id} -->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\``).exec(text);
  if (!m) throw new Error(`README.md has no example '${id}'`);
  return m[1] + '\n';
}
