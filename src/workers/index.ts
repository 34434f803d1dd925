// Public names of src/workers, re-exported by src/index.ts.
export { setWorkerThreads, workerThreadCount, closeWorkerPool, DEFAULT_MAX_WORKERS } from './pool.js';
