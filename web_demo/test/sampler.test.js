import assert from 'node:assert/strict';
import { test } from 'node:test';

import { TemporalSampler, keptIndices } from '../app/core/sampler.js';
import { goldenManifest } from './golden.js';

for (const c of goldenManifest().web.sampler) {
  if (c.timestamps) {
    test(`camera timestamps with jitter and a stall at ${c.sample_fps} fps: the frames Python keeps`, () => {
      const sampler = new TemporalSampler({ targetFps: c.sample_fps });
      assert.deepEqual(c.timestamps.map((t) => sampler.keep(t)), c.keep);
    });
  } else {
    const rule = c.sample_fps !== null ? `${c.sample_fps} fps` : `every ${c.sample_every}`;
    test(`${c.frames} frames at ${c.fps} fps sampled at ${rule}: the indices Python keeps`, () => {
      const kept = keptIndices(c.frames, { fps: c.fps, sampleFps: c.sample_fps, sampleEvery: c.sample_every });
      assert.deepEqual(kept, c.kept);
    });
  }
}

test('no rate keeps every frame; reset starts the grid again', () => {
  const all = new TemporalSampler();
  assert.ok([0, 0.01, 0.02].every((t) => all.keep(t)));
  const s = new TemporalSampler({ targetFps: 10 });
  assert.equal(s.keep(5.0), true);
  assert.equal(s.keep(5.05), false);
  s.reset();
  assert.equal(s.keep(5.06), true, 'the first frame after a reset is kept');
});

test('bad rates are refused', () => {
  assert.throws(() => new TemporalSampler({ targetFps: 0 }), RangeError);
  assert.throws(() => new TemporalSampler({ every: 0 }), RangeError);
  assert.throws(() => new TemporalSampler({ every: 2, targetFps: 10 }), RangeError);
});
