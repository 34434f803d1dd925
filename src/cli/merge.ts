import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { reportDir } from '../record/reportDir.js';
import { mergeShards, readShard, shardFiles } from '../report/shard.js';
import { writeReport, writeStepSummary } from '../report/write.js';
import { argError } from './args.js';

export const usage = `usage: robustness merge [reports/shards | shard files...]

Combines the files that \`vitest --shard=i/n\` runs write (reports/shards/robustness-<i>-of-<n>.json)
into one reports/robustness.json, reports/index.html and reports/junit.xml, and the Markdown
summary when $GITHUB_STEP_SUMMARY is set. Every shard 1..n must be there. Copy each shard's
reports/ folder into this one first, so the page finds the images. Then run \`robustness gate\`.`;

export async function run(args: string[]): Promise<number> {
  let positionals: string[];
  try {
    ({ positionals } = parseArgs({ args, options: {}, allowPositionals: true }));
  } catch (err) {
    throw argError('merge', err);
  }
  const files = shardFiles(positionals.length ? positionals : [join(reportDir(), 'shards')]);
  const records = mergeShards(files.map((path) => ({ path, data: readShard(path) })));
  const { json, html, junit } = writeReport(records);
  const summary = writeStepSummary(records);
  console.log(`merged ${files.length} shards: ${records.length} checks, ${records.filter((r) => r.pass !== true).length} failed\n  ${json}\n  ${html}\n  ${junit}${summary ? `\n  summary appended to ${summary}` : ''}`);
  return 0;
}
