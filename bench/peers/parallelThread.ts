/** One thread of parallelCapacity (./parallel.ts): its GEMM rate, posted back once measured. */
import { parentPort, workerData } from 'node:worker_threads';
import { gemmRate } from './parallel.js';

const { seconds, start } = workerData as { seconds: number; start: Int32Array };
void gemmRate(seconds, start).then((rate) => parentPort!.postMessage(rate));
