import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DEFAULT_PACE_MS, benchmark, describeBench, timePaced } from '../app/core/bench.js';

/**
 * A model on a fake device: a run costs `base` ms plus `jitter[call % jitter.length]`, plus
 * `idleCost` ms per ms the device idled since the last run ended, up to `maxExtra` (threads
 * park and cores clock down between runs). Time moves only when a run or a sleep moves it. A
 * run yields before it ends, so a run started while another is in flight is caught.
 */
function fakeDevice({ base, jitter = [0], idleCost = 0, maxExtra = 0, sleepShare = 1 }) {
  const device = { now: 0, lastEnd: 0, inFlight: false, calls: 0, starts: [], ends: [], sleeps: [] };
  device.clock = () => device.now;
  device.sleep = async (ms) => {
    assert.ok(!device.inFlight, 'slept while a run was in flight');
    assert.ok(ms > 0, `asked to sleep ${ms} ms`);
    device.sleeps.push(ms);
    device.now += Math.min(ms, Math.max(1, ms * sleepShare)); // sleepShare < 1: a timer that fires early
  };
  device.run = async () => {
    assert.ok(!device.inFlight, 'a run started before the one before it had finished');
    device.inFlight = true;
    const idle = device.now - device.lastEnd;
    const ms = base + jitter[device.calls % jitter.length] + Math.min(maxExtra, idleCost * idle);
    device.calls++;
    device.starts.push(device.now);
    await Promise.resolve();
    device.now += ms;
    device.lastEnd = device.now;
    device.ends.push(device.now);
    device.inFlight = false;
    return ms;
  };
  return device;
}

test('the default pace is a hop of 8 frames at 30 fps, as vmf-bench --paced 267', () => {
  assert.equal(DEFAULT_PACE_MS, Math.round((1000 * 8) / 30));
});

test('runs paced like a stream come out slower than back to back on a device that idles down', async () => {
  // 20 ms plus 0..4 ms of jitter; idling adds 0.1 ms per ms, up to 20 ms
  const device = fakeDevice({ base: 20, jitter: [0, 1, 2, 3, 4], idleCost: 0.1, maxExtra: 20 });
  const record = await benchmark(device.run, { runs: 5, paceMs: 267, clock: device.clock, sleep: device.sleep });
  assert.deepEqual(record, {
    p50_ms: 22, // back to back: 21, 22, 23, 24, 20 (the cold run had the jitter 0)
    p90_ms: 23.6, // numpy's linear percentile of 20..24
    min_ms: 20,
    first_ms: 20,
    paced_ms: 267,
    paced_p50_ms: 42, // every paced run idled >= 220 ms first: 20 ms more
    paced_p90_ms: 43.6,
    paced_ratio: 1.909, // 42 / 22
  });
  assert.ok(record.paced_p50_ms > record.p50_ms);
  assert.equal(device.calls, 11, 'one cold run, 5 back to back, 5 paced');
  // back to back: each run starts the moment the one before ends
  for (let i = 1; i <= 5; i++) assert.equal(device.starts[i], device.ends[i - 1]);
  // paced: on a grid 267 ms apart, the first tick one pace after the back-to-back runs
  const pacedFrom = device.ends[5];
  assert.deepEqual(device.starts.slice(6), [1, 2, 3, 4, 5].map((k) => pacedFrom + 267 * k));
  assert.equal(describeBench(record), 'one every 267 ms p50 42.0 / p90 43.6 ms vs back to back p50 22.0 / p90 23.6 ms: 1.91x');
});

test('a run longer than the pace: the next starts on the first tick after it ends, never over it', async () => {
  const device = fakeDevice({ base: 50 });
  const samples = await timePaced(device.run, 4, 30, { clock: device.clock, sleep: device.sleep });
  assert.deepEqual(samples, [50, 50, 50, 50]);
  // ticks every 30 ms: runs at 30 (ends 80), 90 (ends 140), 150, 210; the ticks at 60, 120,
  // 180 came while a run was going and are skipped, as a stream skips a busy hop
  assert.deepEqual(device.starts, [30, 90, 150, 210]);
  for (let i = 1; i < device.starts.length; i++) assert.ok(device.starts[i] >= device.ends[i - 1]);
  assert.deepEqual(device.sleeps, [30, 10, 10, 10], 'the sleeps are the idle time up to each tick');
});

test('a timer that fires early is slept on again until the tick', async () => {
  const device = fakeDevice({ base: 10, sleepShare: 0.5 });
  await timePaced(device.run, 3, 100, { clock: device.clock, sleep: device.sleep });
  assert.deepEqual(device.starts, [100, 200, 300]);
  assert.ok(device.sleeps.length > 3);
});

test('pace null (?pace=0): back to back only, no sleeping, the paced fields null', async () => {
  const device = fakeDevice({ base: 20, jitter: [5, 0, 1, 2] });
  const record = await benchmark(device.run, { runs: 3, paceMs: null, clock: device.clock, sleep: device.sleep });
  assert.deepEqual(record, {
    p50_ms: 21,
    p90_ms: 21.8,
    min_ms: 20,
    first_ms: 25,
    paced_ms: null,
    paced_p50_ms: null,
    paced_p90_ms: null,
    paced_ratio: null,
  });
  assert.equal(device.calls, 4);
  assert.deepEqual(device.sleeps, []);
  assert.equal(describeBench(record), 'back to back p50 21.0 / p90 21.8 ms (no paced runs: pace=0)');
  const zero = await benchmark(device.run, { runs: 1, paceMs: 0, clock: device.clock, sleep: device.sleep });
  assert.equal(zero.paced_ms, null);
});

test('bad runs, paces and run results are refused', async () => {
  const device = fakeDevice({ base: 1 });
  const opts = { clock: device.clock, sleep: device.sleep };
  await assert.rejects(benchmark(device.run, { ...opts, runs: 0 }), RangeError);
  await assert.rejects(benchmark(device.run, { ...opts, runs: 2, paceMs: -5 }), /pace must be >= 0 ms, got -5/);
  await assert.rejects(benchmark(device.run, { ...opts, runs: 2, paceMs: NaN }), RangeError);
  await assert.rejects(timePaced(device.run, 2, 0, opts), /pace must be > 0 ms/);
  await assert.rejects(benchmark(async () => undefined, { ...opts, runs: 2 }), /must resolve to its milliseconds, got undefined/);
});
