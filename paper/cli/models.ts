import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { epochsText, parseFlags, readCard, UsageError, writeFileAtomic } from 'vitest-robustness';
import type { ModelCard } from 'vitest-robustness';

export const usage = `usage: npm run workbench -- models [--dir fixtures/models] [--write]

Lists the trained models in --dir (one folder each, with card.json) as a markdown table;
--write also saves it as <dir>/README.md.`;

function row(c: ModelCard): string {
  const s = c.spec;
  const reg = s.regularizer.name === 'base' ? 'base' : `${s.regularizer.name} (l1 ${s.regularizer.l1}, l2 ${s.regularizer.l2})`;
  const act = c.activityL1 ? `${c.activityL1.lambda} on ${c.activityL1.layer}` : '-';
  const f32 = c.weights?.float32CleanAccuracy;
  const stored = c.weights?.dtype === 'float16' ? `, float16 weights${f32 ? `; ${(f32.value * 100).toFixed(2)}% in float32` : ''}` : '';
  const acc = c.cleanAccuracy ? `${(c.cleanAccuracy.value * 100).toFixed(2)}% (n=${c.cleanAccuracy.n}${stored})` : 'not yet (training)';
  const t = c.training;
  return `| ${c.name} | ${s.arch}${s.depth ? `-${s.depth}` : ''} | ${s.width} | ${reg} | ${act} | ${c.parameters.toLocaleString('en-US')} | ${epochsText(c)} | ${t.trainImages} | ${acc} | ${t.imagesPerSecond} | ${Math.round(t.seconds / 60)} | ${t.backend} | ${t.seed} |`;
}

/** The markdown table of every model folder under `dir`. */
export function modelsTable(dir: string): string {
  const cards = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => readCard(join(dir, e.name)))
        .filter((c): c is ModelCard => c !== undefined)
        .sort((a, b) => a.name.localeCompare(b.name))
    : [];
  const caveats = [...new Set(cards.map((c) => c.data.caveat))].join('; ') || 'none yet';
  return [
    '# Fixture models',
    '',
    'Trained by `npm run workbench -- train` on this project\'s machines; each folder holds model.json, weights.bin, card.json and history.json. Regenerate this table with `npm run workbench -- models --write`.',
    '',
    `Data: ${caveats}. Clean accuracy is on the test split (5,000 images in the shared copy). Training images exclude 5,000 held out for validation curves.`,
    '',
    '| model | arch | width | regularizer | activity L1 | parameters | epochs | train images | clean accuracy | train img/s | minutes | backend | seed |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...cards.map(row),
    '',
  ].join('\n');
}

export async function run(args: string[]): Promise<number> {
  const values = parseFlags('npm run workbench -- models', { args, options: { dir: { type: 'string' }, write: { type: 'boolean' } } }).values;
  const dir = values.dir ?? 'fixtures/models';
  // A mistyped --dir would list nothing (and --write would make the folder to hold that table).
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--dir ${dir} is not a folder; give the folder that holds the model folders (default fixtures/models).`);
  const table = modelsTable(dir);
  if (values.write) writeFileAtomic(join(dir, 'README.md'), table);
  console.log(table);
  return 0;
}
