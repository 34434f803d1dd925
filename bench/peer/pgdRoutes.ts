// The frozen graph's PGD step on fixtures/models/resnet20-base by route, in one run, the routes
// alternating (the order rotating each round): "tape, JS loops" (one custom gradient per convolution, the ReLU masks and
// DepthToSpace as JavaScript loops: the state before the graph backward and the SIMD loops), "tape,
// SIMD" (simdWasm.ts only), "graph, SIMD" (the graph as one op, frozen.ts graphBackward: the
// default). Process CPU time per PGD step (100 CIFAR-10 test images, Linf 8/255, batch 100, one
// thread), without the kernel profiler (its timers cost about a fifth more per kernel call), so
// the figures compare routes, not kernels; ratios are taken per round against the first route.
// Run: npx tsx bench/peer/pgdRoutes.ts   (PGD_ROUTE_ROUNDS=6 by default)
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { attacks } from '../../src/attacks/index.js';
import { initBackend } from '../../src/backend/index.js';
import { setSimdKernels } from '../../src/backend/kernels/simdWasm.js';
import { cifar10 } from '../../src/data/index.js';
import { loadModel } from '../../src/models/index.js';
import { setFrozenGraphBackward } from '../../src/models/frozen.js';
import { useSharedCifar } from './data.js';

const ROUNDS = Number(process.env.PGD_ROUTE_ROUNDS ?? 6);
const ROUTES = [
  { name: 'tape, JS loops', graph: false, simd: false },
  { name: 'tape, SIMD', graph: false, simd: true },
  { name: 'graph, SIMD', graph: true, simd: true },
] as const;

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

useSharedCifar();
await initBackend({ backend: 'wasm', announce: false });
const model = await loadModel(fileURLToPath(new URL('../../fixtures/models/resnet20-base', import.meta.url)));
const { images: x, labels: y } = await cifar10.test({ count: 100, seed: 1 });
const run = async () => (await attacks.pgd.run(model, x, y, { eps: 8 / 255, batchSize: 100 })).adversarial.dispose();
const start = loadavg();
const per: number[][] = ROUTES.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  // The order rotates from round to round, so no route always runs after the same one.
  for (let j = 0; j < ROUTES.length; j++) {
    const k = (j + r) % ROUTES.length;
    const route = ROUTES[k]!;
    setFrozenGraphBackward(route.graph);
    setSimdKernels(route.simd);
    await run(); // warm-up of this route (XNNPACK operators)
    const t = cpu();
    await run();
    per[k]!.push((cpu() - t) / 10);
  }
  console.log(`round ${r + 1}: ${ROUTES.map((route, k) => `${route.name} ${per[k]![r]!.toFixed(1)} ms`).join(', ')}`);
}
setFrozenGraphBackward(true);
setSimdKernels(true);
const fmt = (v: number[], d = 1) => `${Math.min(...v).toFixed(d)}-${Math.max(...v).toFixed(d)} (median ${[...v].sort((a, b) => a - b)[v.length >> 1]!.toFixed(d)})`;
console.log(`\nload average at the start ${start.map((l) => l.toFixed(2)).join(' / ')}, at the end ${loadavg().map((l) => l.toFixed(2)).join(' / ')}`);
for (const [k, route] of ROUTES.entries()) {
  const ratios = per[0]!.map((v, r) => v / per[k]![r]!);
  console.log(`${route.name}: ${fmt(per[k]!)} ms CPU per PGD step; speed-up per round against "${ROUTES[0].name}": x${fmt(ratios, 2)}`);
}
x.dispose();
y.dispose();
