/** Progress on long work: one updating line on a TTY, a plain line every few seconds otherwise (CI logs). */
export interface Progress {
  /** Sets the amount done so far (same unit as total). */
  update(done: number, extra?: string): void;
  /** Prints the final line. */
  done(extra?: string): void;
}

export interface ProgressOptions {
  label: string;
  total?: number;
  unit?: 'bytes' | 'items';
  stream?: NodeJS.WriteStream;
  /** Seconds between plain lines when the stream is not a TTY. @defaultValue 5 */
  plainEvery?: number;
}

function fmt(n: number, unit: 'bytes' | 'items'): string {
  if (unit === 'items') return String(Math.round(n));
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

/** Makes a progress reporter. Quiet when `ROBUSTNESS_QUIET` is set. */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const unit = options.unit ?? 'items';
  const tty = Boolean(stream.isTTY);
  const quiet = Boolean(process.env.ROBUSTNESS_QUIET);
  const start = Date.now();
  let last = 0;
  let current = 0;
  const line = (extra?: string): string => {
    const secs = (Date.now() - start) / 1000;
    const rate = current / Math.max(secs, 1e-3);
    const { total } = options;
    const parts = [options.label];
    if (total) {
      const frac = Math.min(1, current / total);
      const width = 24;
      const filled = Math.round(frac * width);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%`, `${fmt(current, unit)}/${fmt(total, unit)}`);
      parts.push(`${fmt(rate, unit)}/s`, `ETA ${fmtTime((total - current) / rate)}`);
    } else {
      parts.push(fmt(current, unit), `${fmt(rate, unit)}/s`);
    }
    if (extra) parts.push(extra);
    return parts.join('  ');
  };
  return {
    update(done, extra) {
      current = done;
      if (quiet) return;
      const now = Date.now();
      if (tty) {
        if (now - last < 100) return;
        last = now;
        stream.write(`\r${line(extra)}\x1b[K`);
      } else if (now - last >= (options.plainEvery ?? 5) * 1000) {
        last = now;
        stream.write(`${line(extra)}\n`);
      }
    },
    done(extra) {
      if (options.total) current = options.total;
      if (quiet) return;
      stream.write(`${tty ? '\r' : ''}${line(extra)}  done in ${fmtTime((Date.now() - start) / 1000)}${tty ? '\x1b[K' : ''}\n`);
    },
  };
}
