import * as tf from '@tensorflow/tfjs';
import { silenceNodeBanner } from './banner.js';
import { installFastKernels } from './kernels/install.js';

/** The backends the harness knows, by the name `ROBUSTNESS_BACKEND` takes. */
export type BackendChoice = 'tensorflow' | 'wasm' | 'cpu';

export const BACKEND_CHOICES: readonly BackendChoice[] = ['tensorflow', 'wasm', 'cpu'];

/** What was chosen, and why the better ones were passed over. */
export interface BackendInfo {
  /** tfjs backend name as `tf.getBackend()` reports it ('tensorflow', 'wasm' or 'cpu'). */
  name: string;
  /** The package that provides it. */
  package: string;
  /** True when `ROBUSTNESS_BACKEND` (or the `backend` option) forced this choice. */
  forced: boolean;
  /** Each better candidate that could not be used, with the reason. */
  skipped: { package: string; reason: string }[];
}

export interface InitBackendOptions {
  /** Force one backend; overrides `ROBUSTNESS_BACKEND`. */
  backend?: BackendChoice;
  /** Print the choice to stderr (once per process). @defaultValue true outside Vitest workers */
  announce?: boolean;
}

interface Candidate {
  choice: BackendChoice;
  package: string;
  load: () => Promise<string>;
}

// Specifiers live in variables so that TypeScript and bundlers do not insist the optional
// packages exist: on machines where libtensorflow cannot be downloaded they are absent.
const TFJS_NODE_GPU = '@tensorflow/tfjs-node-gpu';
const TFJS_NODE = '@tensorflow/tfjs-node';

async function loadTensorflow(pkg: string): Promise<string> {
  await import(/* @vite-ignore */ pkg);
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but the 'tensorflow' backend failed to initialise`);
  return 'tensorflow';
}

const CANDIDATES: Candidate[] = [
  { choice: 'tensorflow', package: TFJS_NODE_GPU, load: () => loadTensorflow(TFJS_NODE_GPU) },
  { choice: 'tensorflow', package: TFJS_NODE, load: () => loadTensorflow(TFJS_NODE) },
  {
    choice: 'wasm',
    package: '@tensorflow/tfjs-backend-wasm',
    load: async () => {
      await import('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
      return 'wasm';
    },
  },
  {
    choice: 'cpu',
    package: '@tensorflow/tfjs-backend-cpu',
    load: async () => {
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
      return 'cpu';
    },
  },
];

let current: Promise<BackendInfo> | undefined;
let currentKey: string | undefined;
let announced = false;

function shortReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/Cannot find (package|module)/.test(msg)) return 'not installed';
  return msg.split('\n')[0]!.slice(0, 200);
}

/** Reads and checks `ROBUSTNESS_BACKEND`. */
export function backendFromEnv(env: NodeJS.ProcessEnv = process.env): BackendChoice | undefined {
  const raw = env.ROBUSTNESS_BACKEND?.trim();
  if (!raw) return undefined;
  const v = raw.toLowerCase();
  if (v === 'node' || v === 'tfjs-node') return 'tensorflow';
  if ((BACKEND_CHOICES as readonly string[]).includes(v)) return v as BackendChoice;
  throw new Error(
    `ROBUSTNESS_BACKEND=${raw} is not a backend this harness knows. Use one of ${BACKEND_CHOICES.join(', ')}, or unset it to pick the fastest that loads.`,
  );
}

async function choose(forced: BackendChoice | undefined): Promise<BackendInfo> {
  silenceNodeBanner();
  const skipped: BackendInfo['skipped'] = [];
  const candidates = forced ? CANDIDATES.filter((c) => c.choice === forced) : CANDIDATES;
  for (const c of candidates) {
    try {
      const name = await c.load();
      await tf.ready();
      installFastKernels(name);
      return { name, package: c.package, forced: forced !== undefined, skipped };
    } catch (err) {
      skipped.push({ package: c.package, reason: shortReason(err) });
    }
  }
  const tried = skipped.map((s) => `${s.package}: ${s.reason}`).join('; ');
  if (forced === 'tensorflow') {
    throw new Error(
      `ROBUSTNESS_BACKEND=tensorflow, but neither tfjs-node package could be loaded (${tried}). ` +
        'Install @tensorflow/tfjs-node (or -gpu), which downloads libtensorflow at install time, or unset ROBUSTNESS_BACKEND to fall back to wasm.',
    );
  }
  if (forced) {
    throw new Error(`ROBUSTNESS_BACKEND=${forced}, but that backend could not be loaded (${tried}). Reinstall with \`npm install\`, or unset ROBUSTNESS_BACKEND.`);
  }
  throw new Error(`No TensorFlow.js backend could be loaded (${tried}).`);
}

/** One line naming the backend and why faster ones were skipped. */
export function describeBackend(info: BackendInfo): string {
  const why = info.forced ? ' (forced by ROBUSTNESS_BACKEND)' : info.skipped.length ? ` (skipped ${info.skipped.map((s) => `${s.package}: ${s.reason}`).join('; ')})` : '';
  return `tfjs backend: ${info.name} from ${info.package}${why}`;
}

/**
 * Picks the fastest backend that loads: tfjs-node-gpu, tfjs-node, wasm, cpu, in that order,
 * unless `ROBUSTNESS_BACKEND` (or `options.backend`) forces one, in which case failing to load
 * it is an error. Idempotent: later calls with the same choice return the first result.
 *
 * @example
 * const info = await initBackend();
 * console.log(info.name); // 'wasm' on a machine without libtensorflow
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const forced = options.backend ?? backendFromEnv();
  const key = forced ?? 'auto';
  if (!current || currentKey !== key) {
    currentKey = key;
    current = choose(forced);
    current.catch(() => {
      current = undefined;
      currentKey = undefined;
    });
  }
  const info = await current;
  const announce = options.announce ?? !process.env.VITEST_WORKER_ID;
  if (announce && !announced && !process.env.ROBUSTNESS_QUIET) {
    announced = true;
    process.stderr.write(`[vitest-robustness] ${describeBackend(info)}\n`);
  }
  return info;
}

/** The backend chosen by {@link initBackend}, or undefined before it ran. */
export async function currentBackend(): Promise<BackendInfo | undefined> {
  return current ? current.catch(() => undefined) : undefined;
}
