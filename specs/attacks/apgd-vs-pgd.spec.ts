// APGD-CE (100 iterations, no tuning) must find at least as many adversarial examples as PGD-10 on
// every fixture architecture: a stronger attack that reports more robustness than a weaker one
// would be a bug. Too slow for the unit tests on two shared cores (about 10 minutes), so it runs
// with the specs: npx vitest run specs/attacks
import { afterAll, describe, expect, it } from 'vitest';
import { attacks, cifar10, loadModel, wilsonInterval } from 'vitest-robustness';

const N = 200;
const samples = await cifar10.test({ count: N, seed: 1 });
const labels = (await samples.labels.data()) as Int32Array;
afterAll(() => samples.dispose());

async function robustAccuracy(model: Awaited<ReturnType<typeof loadModel>>, attack: 'pgd' | 'apgd', eps: number): Promise<number> {
  const r = await attacks[attack].run(model, samples.images, samples.labels, { eps, seed: 1 });
  r.adversarial.dispose();
  return labels.reduce((s, l, i) => s + (r.predsAfter[i] === l ? 1 : 0), 0) / N;
}

for (const name of ['resnet20-base', 'vgg16-base', 'mobilenet-base']) {
  describe(`${name}, ${N} test images`, () => {
    for (const [text, eps] of [
      ['2/255', 2 / 255],
      ['8/255', 8 / 255],
    ] as const) {
      it(`APGD-CE's robust accuracy is at most PGD-10's at eps ${text}`, async () => {
        const model = await loadModel(`fixtures/models/${name}`);
        try {
          const pgd = await robustAccuracy(model, 'pgd', eps);
          const apgd = await robustAccuracy(model, 'apgd', eps);
          const ci = (v: number) => {
            const w = wilsonInterval(Math.round(v * N), N);
            return `${(100 * v).toFixed(1)}% [${(100 * w.lower).toFixed(1)}, ${(100 * w.upper).toFixed(1)}]`;
          };
          console.log(`${name} eps ${text}: PGD-10 ${ci(pgd)}, APGD-CE ${ci(apgd)} (n=${N})`);
          expect(apgd, `APGD-CE ${ci(apgd)} vs PGD-10 ${ci(pgd)}`).toBeLessThanOrEqual(pgd);
        } finally {
          model.dispose();
        }
      });
    }
  });
}
