/** The machine a benchmark ran on, for its results file: CPU, cores, memory, Node and the load while it ran. */
import { cpus, freemem, loadavg, totalmem } from 'node:os';

export function machine() {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    freeMemoryGiB: Math.round(freemem() / 2 ** 30),
    node: process.version,
    load: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
