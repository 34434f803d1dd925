import { cifar10Dataset, locateCifar10 } from '../data/cifar10.js';
import { downloadCifar10, CIFAR10_URL } from '../data/download.js';
import { cacheDir } from '../data/cacheDir.js';
import { parseFlags, UsageError } from './args.js';

export const usage = `usage: robustness data cifar10 [--cache DIR] [--force] [--url URL]
       robustness data decode [--dir DIR]

  cifar10   download the official CIFAR-10 binary release (${CIFAR10_URL},
            or ROBUSTNESS_CIFAR10_URL, a mirror) into the cache (ROBUSTNESS_CACHE, default
            ${cacheDir()}), checking its MD5 (ROBUSTNESS_CIFAR10_MD5 for a mirror's own file);
            cifar10.test() and cifar10.dataset() do this on first use
  decode    decode both splits of CIFAR-10 once (CIFAR10_DIR or --dir) into the cache,
            so later runs read bytes instead of JPEGs; prints counts and time`;

export async function run(args: string[]): Promise<number> {
  const parsed = parseFlags('data', {
    args,
    allowPositionals: true,
    options: { cache: { type: 'string' }, force: { type: 'boolean' }, url: { type: 'string' }, dir: { type: 'string' } },
  });
  const { values, positionals } = parsed;
  const [what] = positionals;
  if (positionals.length > 1 || (what !== undefined && what !== 'cifar10' && what !== 'decode')) {
    throw new UsageError(`robustness data takes one of cifar10, decode; got '${positionals.join(' ')}'. See \`robustness data --help\`.`);
  }
  if (what === 'cifar10' && values.dir !== undefined) throw new UsageError('--dir belongs to `robustness data decode`; `data cifar10` downloads into --cache.');
  if (what === 'decode' && (values.cache !== undefined || values.url !== undefined || values.force)) throw new UsageError('--cache, --url and --force belong to `robustness data cifar10`; `data decode` reads CIFAR10_DIR or --dir.');
  if (what === 'cifar10') {
    const dir = await downloadCifar10({ cache: values.cache, force: values.force, url: values.url });
    console.log(`CIFAR-10 binary batches in ${dir}. Set CIFAR10_DIR=${dir} or leave it unset to use the cache.`);
    return 0;
  }
  if (what === 'decode') {
    const src = locateCifar10(values.dir);
    for (const split of ['test', 'train'] as const) {
      const t0 = Date.now();
      const ds = cifar10Dataset(split, values.dir);
      console.log(`${split}: ${ds.size} images, ${ds.classCounts().join('/')} per class, ${((Date.now() - t0) / 1000).toFixed(1)} s (${src.caveat}, ${src.dir})`);
    }
    return 0;
  }
  console.error(usage);
  return 2;
}
