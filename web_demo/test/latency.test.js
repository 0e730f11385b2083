import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LatencyStats } from '../app/core/latency.js';
import { goldenManifest } from './golden.js';

const p = goldenManifest().web.percentiles;

test("percentiles over the newest window are numpy's", () => {
  const stats = new LatencyStats(p.window);
  p.values.slice(0, 5).forEach((v) => stats.add(v));
  assert.ok(Math.abs(stats.p50 - p.p50_all_of_first_5) < 1e-9);
  assert.ok(Math.abs(stats.p90 - p.p90_all_of_first_5) < 1e-9);
  p.values.slice(5).forEach((v) => stats.add(v));
  assert.equal(stats.size, p.window, 'bounded');
  assert.equal(stats.count, p.values.length, 'every run counted');
  assert.equal(stats.last, p.values.at(-1));
  assert.ok(Math.abs(stats.p50 - p.p50) < 1e-9);
  assert.ok(Math.abs(stats.p90 - p.p90) < 1e-9);
});

test('empty stats give NaN, a bad percentile is refused', () => {
  const stats = new LatencyStats(4);
  assert.ok(Number.isNaN(stats.p50));
  assert.ok(Number.isNaN(stats.mean()));
  stats.add(3);
  assert.throws(() => stats.percentile(101), RangeError);
  assert.equal(stats.mean(), 3);
});
