import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FramePreprocessor, ResamplePlan, alignRect } from '../app/core/preprocess.js';
import { bgrFrameAsRGBA, goldenBytes, goldenFloats, goldenManifest, maxAbsDiff } from './golden.js';

const TOLERANCE = 1e-5; // the contract's; in practice the port agrees bit for bit

function crop(image, rect) {
  const data = new Uint8ClampedArray(rect.width * rect.height * 4);
  for (let y = 0; y < rect.height; y++) {
    const from = ((rect.y + y) * image.width + rect.x) * 4;
    data.set(image.data.subarray(from, from + rect.width * 4), y * rect.width * 4);
  }
  return { ...rect, data, frameWidth: image.width, frameHeight: image.height };
}

for (const c of goldenManifest().preprocess) {
  test(`BGR frame ${c.frame} ${c.layout} matches Python`, () => {
    const pre = new FramePreprocessor(c.resolution, c.mean, c.std, c.layout);
    const out = new Float32Array(pre.slotSize);
    pre.process(bgrFrameAsRGBA(c.frame), out);
    const diff = maxAbsDiff(goldenFloats(c.expected), out);
    assert.ok(diff <= TOLERANCE, `max abs difference ${diff}`);
  });
}

for (const c of goldenManifest().web.rgba) {
  test(`RGBA frame ${c.name} (${c.width}x${c.height}) ${c.layout} matches Python`, () => {
    const image = { width: c.width, height: c.height, data: new Uint8ClampedArray(goldenBytes(c.file)) };
    const pre = new FramePreprocessor(c.resolution, c.mean, c.std, c.layout);
    const out = new Float32Array(pre.slotSize);
    pre.process(image, out);
    const expected = goldenFloats(c.expected);
    assert.ok(maxAbsDiff(expected, out) <= TOLERANCE);

    // only the source rectangle the crop reads, as the page reads it off a video frame
    const rect = pre.sourceRect(c.height, c.width);
    assert.ok(rect.width < c.width || rect.height < c.height, 'the crop reads less than the frame');
    const part = new Float32Array(pre.slotSize);
    pre.process(crop(image, rect), part);
    assert.deepEqual(part, out);
    // and a wider, chroma-aligned rectangle (VideoFrame.copyTo of a 4:2:0 frame)
    const aligned = alignRect({ ...rect, x: rect.x + 1 }, c.width, c.height);
    aligned.x = Math.max(0, aligned.x - 2);
    aligned.width = Math.min(c.width - aligned.x, aligned.width + 4);
    pre.process(crop(image, aligned), part);
    assert.deepEqual(part, out);
  });
}

test('an image that does not cover the crop is refused', () => {
  const c = goldenManifest().web.rgba[1];
  const pre = new FramePreprocessor(c.resolution, c.mean, c.std, c.layout);
  const image = { width: c.width, height: c.height, data: new Uint8ClampedArray(goldenBytes(c.file)) };
  const rect = pre.sourceRect(c.height, c.width);
  const short = crop(image, { ...rect, width: rect.width - 1 });
  assert.throws(() => pre.process(short, new Float32Array(pre.slotSize)), /does not cover the crop/);
});

test('the plan rounds half to even and keeps at least R per side', () => {
  // 61 * 24 / 48 = 30.5: Python's round() gives 30, so the crop starts at column (30 - 24) // 2 = 3
  const plan = new ResamplePlan(48, 61, 24);
  const ratio = 61 / 30;
  assert.equal(plan.cols0[0], Math.floor((3 + 0.5) * ratio - 0.5));
  // upscaling a 12 x 17 frame to 24: every output row reads inside the frame
  const up = new ResamplePlan(12, 17, 24);
  assert.ok(Math.max(...up.rows1) <= 11 && Math.min(...up.rows0) >= 0);
  // rows: all 12 of the short side; columns: 17 * 2 = 34 scaled, crop from 5, source 2.25 .. 13.75
  assert.deepEqual(up.rect, { x: 2, y: 0, width: 13, height: 12 });
});

test('the layout decides where a channel lands', () => {
  // a flat colour: every pixel of a channel normalises to the same value
  const image = { width: 8, height: 6, data: new Uint8ClampedArray(8 * 6 * 4) };
  for (let i = 0; i < 48; i++) image.data.set([255, 0, 51, 7], 4 * i);
  const mean = [0.5, 0.25, 0.125];
  const std = [0.5, 0.25, 0.125];
  const expected = [(1 - 0.5) / 0.5, (0 - 0.25) / 0.25, (0.2 - 0.125) / 0.125];
  const chw = new Float32Array(3 * 16);
  new FramePreprocessor(4, mean, std, 'TCHW').process(image, chw);
  const hwc = new Float32Array(3 * 16);
  new FramePreprocessor(4, mean, std, 'THWC').process(image, hwc);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < 16; p++) {
      assert.ok(Math.abs(chw[c * 16 + p] - expected[c]) < 1e-6, `TCHW channel ${c}`);
      assert.ok(Math.abs(hwc[p * 3 + c] - expected[c]) < 1e-6, `THWC channel ${c}`);
    }
  }
});

test('the slot is written at the offset asked for, nothing else touched', () => {
  const image = bgrFrameAsRGBA('a');
  const pre = new FramePreprocessor(8, [0.45, 0.45, 0.45], [0.225, 0.225, 0.225], 'TCHW');
  const out = new Float32Array(pre.slotSize * 3).fill(42);
  pre.process(image, out, pre.slotSize);
  assert.ok(out.subarray(0, pre.slotSize).every((v) => v === 42));
  assert.ok(out.subarray(2 * pre.slotSize).every((v) => v === 42));
  assert.ok(out.subarray(pre.slotSize, 2 * pre.slotSize).some((v) => v !== 42));
});
