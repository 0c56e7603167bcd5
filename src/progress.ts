/** Progress reporting: library functions take an optional reporter; the CLI prints steps on stderr. */
export interface ProgressReporter {
  /** A step starts; returns a function to call when it ends. */
  step(label: string): (detail?: string) => void;
  info(message: string): void;
}

export const silentProgress: ProgressReporter = { step: () => () => {}, info: () => {} };

/** Prints "label ..." then "label done in 1.23 s (detail)" on stderr. */
export function stderrProgress(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  return {
    step(label) {
      const t0 = performance.now();
      stream.write(`${label} ...\n`);
      return (detail) => {
        const s = ((performance.now() - t0) / 1000).toFixed(2);
        stream.write(`${label}: done in ${s} s${detail ? ` (${detail})` : ''}\n`);
      };
    },
    info: (m) => void stream.write(`${m}\n`),
  };
}
