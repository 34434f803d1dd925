// Public names of src/workers, re-exported by src/index.ts.
export { setWorkerThreads, workerThreadCount, closeWorkerPool, DEFAULT_MAX_WORKERS } from './pool.js';
// Loading it registers the threads with train()'s `workers` option.
export { trainThreadCount } from './dataParallel.js';
