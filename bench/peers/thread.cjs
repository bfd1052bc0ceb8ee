// A worker thread's entry for the benchmarks: loads the TypeScript module workerData.file through
// tsx's require hook. Node 20 refuses a .ts file as a worker's entry, an eval'd entry does not get
// the --import tsx of execArgv, and tsx's ESM hooks do not reach worker threads; its CommonJS
// hook does (piscina loads quiver's src/workers/worker.ts the same way).
require(require('node:worker_threads').workerData.file);
