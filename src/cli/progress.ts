/**
 * A progress line for long work (ingest, training, downloads): count, rate and ETA.
 * On a TTY it redraws in place; elsewhere it prints a line at most every few seconds,
 * so CI logs stay readable.
 */
export interface Progress {
  tick(n?: number, note?: string): void;
  setTotal(total: number): void;
  done(note?: string): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function createProgress(
  label: string,
  total: number,
  opts: { stream?: NodeJS.WritableStream & { isTTY?: boolean }; unit?: string; intervalMs?: number; enabled?: boolean } = {},
): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY);
  const interval = opts.intervalMs ?? (tty ? 100 : 5000);
  const unit = opts.unit ?? 'items';
  const enabled = opts.enabled ?? true;
  const start = Date.now();
  let count = 0;
  let last = 0;
  let note = '';

  const render = (final: boolean) => {
    const elapsed = (Date.now() - start) / 1000;
    const rate = elapsed > 0 ? count / elapsed : 0;
    const pct = total > 0 ? Math.min(100, (100 * count) / total) : 0;
    const eta = rate > 0 && total > 0 ? (total - count) / rate : Number.NaN;
    const width = 24;
    const filled = total > 0 ? Math.round((width * Math.min(count, total)) / total) : 0;
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
    const line = `${label} ${bar} ${count}/${total || '?'} ${pct.toFixed(0)}% ${rate.toFixed(1)} ${unit}/s ${final ? `in ${formatDuration(elapsed)}` : `ETA ${formatDuration(eta)}`}${note ? ` ${note}` : ''}`;
    stream.write(tty ? `\r\x1b[2K${line}${final ? '\n' : ''}` : `${line}\n`);
  };

  return {
    tick(n = 1, n2?: string) {
      count += n;
      if (n2 !== undefined) note = n2;
      const now = Date.now();
      if (enabled && now - last >= interval) {
        last = now;
        render(false);
      }
    },
    setTotal(t) {
      total = t;
    },
    done(n2) {
      if (n2 !== undefined) note = n2;
      if (enabled) render(true);
    },
  };
}
