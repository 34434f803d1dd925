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
  /** 'robustAccuracy' | 'successRate' | 'ssd' | 'density' | 'snapshotDiffPixels' | 'invariance' | 'robustnessCurve' (value: the largest budget's point) | 'robustAccuracyDifference' (a comparison: candidate minus baseline) */
  metric: string;
  value: number;
  interval?: { lower: number; upper: number; level: number };
  threshold: { op: '>=' | '<=' | '<' | '>'; value: number };
  n: number;
  pass: boolean;
  /** PNGs the matcher saved (paths relative to the project root). */
  artefacts: string[];
  /** What each saved PNG shows, for the report's labels (one per artefact it describes). */
  images?: ImageNote[];
  /** The matcher's message: why it failed (or, for a pass, what it measured). */
  message?: string;
  /** A robustness curve check's points, minimums and stored snapshot, for the report's plot. */
  curve?: RecordedCurve;
  /** A two-model comparison (toBeMoreRobustThan; the record's model is the candidate, its value the difference). */
  comparison?: RecordedComparison;
  /** Reasons to distrust the measurement (evaluation flags), whether or not they failed the check. */
  flags?: RecordedFlag[];
  /** The check's per-sample outcomes file (JSON beside the report, relative to the project root). */
  samples?: string;
  /** Per true class: n, clean and robust accuracy (from the per-sample outcomes), for the report. */
  perClass?: { label: number; class?: string; n: number; clean: number; robust: number }[];
  time: string;
}

/** An evaluation flag as recorded: its name, what was seen, and whether it failed the check (else a warning). */
export interface RecordedFlag {
  name: string;
  message: string;
  failing: boolean;
}

/** One model's side of a recorded comparison: robust accuracy with its 95% Wilson interval, clean accuracy. */
export interface RecordedComparedModel {
  model: string;
  robustAccuracy: number;
  lower: number;
  upper: number;
  clean: number;
}

/** What `toBeMoreRobustThan` measured: both models, the paired difference, and per class. */
export interface RecordedComparison {
  candidate: RecordedComparedModel;
  baseline: RecordedComparedModel;
  /** Candidate minus baseline robust accuracy with its paired bootstrap interval (the check passes when `lower` > 0). */
  difference: { estimate: number; lower: number; upper: number; level: number };
  /** Samples only the candidate stayed correct on, and only the baseline. */
  onlyCandidate: number;
  onlyBaseline: number;
  perClass?: { label: number; class?: string; n: number; candidate: { clean: number; robust: number }; baseline: { clean: number; robust: number } }[];
}

/** One measured point of a robustness curve with its 95% interval. */
export interface RecordedCurvePoint {
  eps: number;
  robustAccuracy: number;
  lower: number;
  upper: number;
}

/** What `toHaveRobustnessCurve` measured, and what it compared that with. */
export interface RecordedCurve {
  attack: string;
  points: RecordedCurvePoint[];
  /** Least robust accuracy per budget, when the check was given minimums. */
  min?: number[];
  /** The curve snapshot it was compared with: its path, the outcome, and the stored points when there were some. */
  snapshot?: { path: string; status: string; points?: RecordedCurvePoint[] };
}

/** A predicted class and the model's probability for it. */
export interface ClassCall {
  class: string;
  confidence: number;
}

/**
 * What one saved PNG shows, left to right, so the report can label it: the panels
 * ('original', 'adversarial', 'perturbation x10'), the sample, its true class, and the model's
 * call before and after the change.
 */
export interface ImageNote {
  /** The artefact path it describes. */
  file: string;
  kind: 'attack' | 'attribution' | 'invariance' | 'snapshot';
  /** Labels of the equal-width panels, left to right. */
  panels: string[];
  sample?: string;
  trueClass?: string;
  before?: ClassCall;
  after?: ClassCall;
  /** The per-sample measurement where there is one (the SSD of an attribution pair). */
  score?: number;
  /** How much the perturbation panel is amplified. */
  amplify?: number;
  /** The colour map of map panels (the legend the report draws). */
  colormap?: string;
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
