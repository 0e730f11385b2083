// ?bench=N&pace=MS: the model timed as `vmf-bench --paced MS` times a row (benchmarks/timing.py,
// docs/performance.md, "Paced runs"): one cold run, then N runs back to back, then N runs one
// every MS milliseconds, as a live stream at hop H and F fps runs the model once every 1000 H / F
// ms (267 ms at hop 8 and 30 fps). Between paced runs the runtime's threads park and the cores
// clock down, so a paced run often takes longer than a back-to-back one: what a stream pays is
// the paced figure, and the record carries both and their ratio.
//
// A run resolves to the milliseconds it took as the model timed it (infer-worker.js's infer(),
// the same figure a live stream's inference_ms is); the clock and the sleep only pace the runs,
// and both are injected so the tests drive the schedule with a fake clock instead of waiting.

import { LatencyStats } from './latency.js';
import { pyRound } from './pyformat.js';
import { ms } from './records.js';

/** One clip every 1000 * 8 / 30 ms: hop 8 at 30 fps, vmf-bench's `--paced 267` (docs/performance.md). */
export const DEFAULT_PACE_MS = 267;

function checkRuns(runs) {
  if (!(Number.isSafeInteger(runs) && runs >= 1)) throw new RangeError(`runs must be a positive integer, got ${runs}`);
}

async function timed(run) {
  const elapsed = await run();
  if (!(Number.isFinite(elapsed) && elapsed >= 0)) {
    throw new TypeError(`a timed run must resolve to its milliseconds, got ${elapsed}`);
  }
  return elapsed;
}

/** `runs` runs one right after the other; their milliseconds. */
export async function timeBackToBack(run, runs) {
  checkRuns(runs);
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(await timed(run));
  return samples;
}

/**
 * `runs` runs on a grid of ticks `paceMs` apart, the first one pace from now (so it, too, comes
 * after an idle gap); their milliseconds, the sleeps not counted. A run never starts before the
 * one before it has finished: one that outlasts the pace is followed by the next tick after it
 * ends, the ticks due meanwhile skipped, as a live stream skips the hops that come while the
 * model is busy (benchmarks/timing.py time_paced). `clock()` gives milliseconds; `sleep(ms)`
 * resolves after about that long (it is called again while the tick is still ahead).
 */
export async function timePaced(run, runs, paceMs, { clock, sleep }) {
  checkRuns(runs);
  if (!(Number.isFinite(paceMs) && paceMs > 0)) throw new RangeError(`the pace must be > 0 ms, got ${paceMs}`);
  const samples = [];
  let tick = clock() + paceMs;
  for (let i = 0; i < runs; i++) {
    for (let wait = tick - clock(); wait > 0; wait = tick - clock()) await sleep(wait);
    samples.push(await timed(run));
    const end = clock();
    tick += paceMs * Math.max(1, Math.floor((end - tick) / paceMs) + 1);
  }
  return samples;
}

function percentiles(samples) {
  const stats = new LatencyStats(samples.length);
  samples.forEach((t) => stats.add(t));
  return { p50: stats.p50, p90: stats.p90, min: samples.reduce((a, b) => Math.min(a, b)) };
}

/**
 * The whole benchmark: one cold run (`first_ms`: buffers allocated, kernels picked), `runs`
 * back to back (`p50_ms`, `p90_ms`, `min_ms`), then, unless `paceMs` is null or 0, `runs` paced
 * (`paced_ms`, `paced_p50_ms`, `paced_p90_ms`, and `paced_ratio`: paced p50 over back-to-back
 * p50, as vmf-bench's paced/b2b). Milliseconds to 3 decimals, the ratio to 3; the paced
 * fields are null when there was no paced series.
 */
export async function benchmark(run, { runs, paceMs = DEFAULT_PACE_MS, clock, sleep }) {
  checkRuns(runs);
  const pace = paceMs === null || paceMs === 0 ? null : paceMs;
  if (pace !== null && !(Number.isFinite(pace) && pace > 0)) throw new RangeError(`the pace must be >= 0 ms, got ${paceMs}`);
  const first = await timed(run);
  const b2b = percentiles(await timeBackToBack(run, runs));
  const paced = pace === null ? null : percentiles(await timePaced(run, runs, pace, { clock, sleep }));
  return {
    p50_ms: ms(b2b.p50),
    p90_ms: ms(b2b.p90),
    min_ms: ms(b2b.min),
    first_ms: ms(first),
    paced_ms: pace,
    paced_p50_ms: paced && ms(paced.p50),
    paced_p90_ms: paced && ms(paced.p90),
    paced_ratio: paced && b2b.p50 > 0 ? pyRound(paced.p50 / b2b.p50, 3) : null,
  };
}

/**
 * One line for the page, beside the JSON record: the paced figures against the back-to-back
 * ones, as the Android app's latency line and vmf-bench's list under its table put them.
 */
export function describeBench(record) {
  const b2b = `back to back p50 ${record.p50_ms.toFixed(1)} / p90 ${record.p90_ms.toFixed(1)} ms`;
  if (record.paced_ms === null) return `${b2b} (no paced runs: pace=0)`;
  const ratio = record.paced_ratio === null ? '' : `: ${record.paced_ratio.toFixed(2)}x`;
  return (
    `one every ${record.paced_ms} ms p50 ${record.paced_p50_ms.toFixed(1)} / p90 ${record.paced_p90_ms.toFixed(1)} ms ` +
    `vs ${b2b}${ratio}`
  );
}
