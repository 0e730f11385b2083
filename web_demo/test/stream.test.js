import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseCard } from '../app/core/card.js';
import { StreamCore } from '../app/core/stream.js';
import { bgrFrameAsRGBA, goldenFloats, goldenManifest, goldenText } from './golden.js';

const card = parseCard(goldenText('sidecar.json'));

test("the clips runtime/clip_assembler.py hands out for the same frames and card", () => {
  const golden = goldenManifest().stream;
  const core = new StreamCore(card, { hop: golden.hop });
  const due = [];
  let last = null;
  golden.frames_in.forEach((name, i) => {
    assert.equal(core.offer(i / 30), true, 'no sample_fps in the card: every frame kept');
    const job = core.add(bgrFrameAsRGBA(name), { frameIndex: i });
    if (job) {
      due.push(i + 1);
      assert.equal(job.frameIndex, i);
      last = job;
      core.done(job.clip); // the model is idle again before the next hop
    }
  });
  assert.deepEqual(due, golden.due_after);
  const clip = last.clip;
  assert.equal(clip.length, golden.values);
  const sample = goldenFloats(golden.sample);
  for (let j = 0; j < sample.length; j++) {
    assert.ok(Math.abs(clip[j * golden.sample_every] - sample[j]) <= 1e-5, `value ${j * golden.sample_every}`);
  }
  const slot = clip.length / card.frames;
  golden.frame_sums.forEach((sum, f) => {
    let ours = 0;
    for (let k = f * slot; k < (f + 1) * slot; k++) ours += clip[k];
    assert.ok(Math.abs(ours - sum) <= 1e-6 * Math.max(1, Math.abs(sum)), `frame ${f}: ${ours} vs ${sum}`);
  });
  assert.deepEqual(core.counts, { frames: 10, kept: 10, hops: 2, skipped_hops: 0, clips: 2 });
});

test('a hop due while the model is busy is skipped and counted; buffers are reused', () => {
  const small = { ...card, frames: 4, resolution: 8, inputShape: [4, 8, 8, 3], sampleFps: null };
  const core = new StreamCore(small, { hop: 2 });
  const image = bgrFrameAsRGBA('a');
  const jobs = [];
  for (let i = 0; i < 12; i++) {
    core.offer(i / 25);
    const job = core.add(image, { frameIndex: i });
    if (job) jobs.push(job);
    if (i === 7) core.done(jobs[0].clip); // the first clip's result comes back after frame 7
  }
  // due after 4, 6, 8, 10, 12 kept frames; busy from 4 until after frame 7 (i = 7, the 8th)
  assert.deepEqual(jobs.map((j) => j.frameIndex), [3, 9]);
  assert.equal(jobs[1].clip, jobs[0].clip, 'the returned buffer carries the next clip');
  assert.deepEqual(core.counts, { frames: 12, kept: 12, hops: 5, skipped_hops: 3, clips: 2 });
});

test("the card's sample_fps decides which frames are kept", () => {
  const core = new StreamCore({ ...card, sampleFps: 10 }, { hop: 8 });
  const kept = [];
  for (let i = 0; i < 30; i++) if (core.offer(i / 30)) kept.push(i);
  assert.deepEqual(kept, [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
  assert.equal(core.counts.frames, 30);
});
