import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';

const { SingleBar, Presets } = cliProgress;

/** Progress reporting: library functions take an optional reporter; the CLI prints steps on stderr. */
export interface ProgressBar {
  update(done: number): void;
  stop(): void;
}

export interface ProgressReporter {
  /** A step starts; returns a function to call when it ends. */
  step(label: string): (detail?: string) => void;
  info(message: string): void;
  /** A long step with a known amount of work (optional: reporters may not draw bars). */
  bar?(label: string, total: number): ProgressBar;
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
    bar(label, total) {
      const t0 = performance.now();
      if (stream.isTTY) {
        const bar = new SingleBar({ format: `${label} [{bar}] {percentage}% {eta}s`, stream, hideCursor: true }, Presets.shades_classic);
        bar.start(total, 0);
        return { update: (d) => bar.update(d), stop: () => bar.stop() };
      }
      // Not a terminal: a line every 25%, then the total time.
      let shown = 0;
      stream.write(`${label} ...\n`);
      return {
        update(d) {
          const pct = Math.floor((100 * d) / total / 25) * 25;
          if (pct > shown && pct < 100) {
            shown = pct;
            stream.write(`${label}: ${pct}%\n`);
          }
        },
        stop: () => void stream.write(`${label}: done in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`),
      };
    },
  };
}

/**
 * Peak resident memory of this process in MiB: VmHWM from /proc on Linux. (`process.resourceUsage().maxRSS`
 * is not used: Linux carries a parent's high-water mark into a forked child across exec, so a stage run from
 * a large benchmark process would report the parent's size.)
 */
export function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch {
    // not Linux: fall through
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
