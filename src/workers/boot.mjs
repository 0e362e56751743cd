/**
 * Entry of every worker thread (see rpc.ts). A worker does not inherit the TypeScript loader
 * of its parent (neither tsx's nor vitest's), so this plain module registers tsx in the
 * worker, then loads the entry module it was given.
 */
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
