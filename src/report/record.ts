import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { reportDir } from './reportDir.js';

/** One matcher call, as the report and the release gate see it. */
export interface RobustnessRecord {
  /** Spec file, relative to the project root. */
  spec: string;
  test: string;
  matcher: string;
  /** Model name from its card, or 'unnamed model'. */
  model: string;
  /** The card of the model, when it has one. */
  card?: Record<string, unknown>;
  backend: string;
  /** 'pgd', 'gradcam', ... */
  method: string;
  params: Record<string, unknown>;
  /**
   * Where the images of the check came from (`Samples.source`), e.g. 'CIFAR-10, JPEG q75 copy' or
   * 'CIFAR-10, embedded 200-image sample (JPEG q75 copy)'; absent when the samples do not say.
   */
  data?: string;
  /** 'robustAccuracy' | 'successRate' | 'ssd' | 'density' | 'snapshotDiffPixels' | 'invariance' */
  metric: string;
  value: number;
  interval?: { lower: number; upper: number; level: number };
  threshold: { op: '>=' | '<=' | '<'; value: number };
  n: number;
  pass: boolean;
  /** PNGs the matcher saved (paths relative to the project root). */
  artefacts: string[];
  time: string;
}

/** A check run on the package's embedded CIFAR-10 sample, not on a full test split. */
export function isEmbeddedSample(r: Pick<RobustnessRecord, 'data'>): boolean {
  return /embedded \d+-image sample/.test(r.data ?? '');
}

/** Where matchers drop their records while a run is going (one file per worker process). */
export function resultsDir(root = process.cwd()): string {
  return join(reportDir(root), '.results');
}

/** Appends a record for the reporter; each line is one JSON object. */
export function recordResult(record: RobustnessRecord): void {
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, `${process.pid}.jsonl`), `${JSON.stringify(record)}\n`);
}

/** Reads every record of the current run (damaged lines are skipped). */
export function readResults(root = process.cwd()): RobustnessRecord[] {
  const dir = resultsDir(root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as RobustnessRecord];
          } catch {
            return [];
          }
        }),
    );
}

export function clearResults(root = process.cwd()): void {
  rmSync(resultsDir(root), { recursive: true, force: true });
}
