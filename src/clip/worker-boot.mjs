/**
 * Entry of the inference worker thread. A worker does not inherit the TypeScript loader
 * of its parent (neither tsx's nor vitest's), so this plain module registers tsx in the
 * worker, then loads worker.ts.
 */
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
