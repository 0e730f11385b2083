import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CODE_RECT, FrameCodeCounter, TimestampDropCounter, decodeFrameCode } from '../app/core/framecode.js';

/** A grey frame with `code` stamped as the spec says, optionally blurred at block edges. */
function stamped(code, { width = 64, height = 24, white = [255, 255, 255], black = [0, 0, 0], blur = false } = {}) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([90, 120, 150, 255], 4 * i);
  for (let bit = 0; bit < 8; bit++) {
    const on = (code >> (7 - bit)) & 1;
    for (let y = 0; y < 16; y++) {
      for (let x = 4 * bit; x < 4 * bit + 4; x++) {
        const edge = blur && (x === 4 * bit || x === 4 * bit + 3 || y === 0 || y === 15);
        const rgb = edge ? [128, 128, 128] : on ? white : black;
        data.set([...rgb, 255], (y * width + x) * 4);
      }
    }
  }
  return { width, height, data };
}

test('bit 0 is the most significant and sits at x = 0..3', () => {
  const image = stamped(0);
  for (let y = 0; y < 16; y++) for (let x = 0; x < 4; x++) image.data.set([255, 255, 255], (y * image.width + x) * 4);
  assert.equal(decodeFrameCode(image), 128);
  const last = stamped(0);
  for (let y = 0; y < 16; y++) for (let x = 28; x < 32; x++) last.data.set([255, 255, 255], (y * last.width + x) * 4);
  assert.equal(decodeFrameCode(last), 1);
});

test('every code reads back, through a blur at the block edges and tinted levels', () => {
  for (let code = 0; code < 256; code++) {
    assert.equal(decodeFrameCode(stamped(code, { blur: true })), code);
    assert.equal(decodeFrameCode(stamped(code, { white: [200, 150, 140], black: [60, 40, 80] })), code);
  }
});

test('the code region alone is enough, less is refused', () => {
  const full = stamped(0b10110010);
  const region = new Uint8ClampedArray(CODE_RECT.width * CODE_RECT.height * 4);
  for (let y = 0; y < CODE_RECT.height; y++) {
    region.set(full.data.subarray(y * full.width * 4, (y * full.width + CODE_RECT.width) * 4), y * CODE_RECT.width * 4);
  }
  assert.equal(decodeFrameCode({ width: CODE_RECT.width, height: CODE_RECT.height, data: region }), 0b10110010);
  assert.throws(() => decodeFrameCode({ width: 31, height: 16, data: new Uint8ClampedArray(31 * 16 * 4) }), RangeError);
});

test('codes unwrap past 255 and gaps count as dropped frames', () => {
  const counter = new FrameCodeCounter();
  const codes = [250, 251, 252, 255, 0, 1, 1, 5];
  assert.deepEqual(codes.map((c) => counter.next(c)), [250, 251, 252, 255, 256, 257, 257, 261]);
  assert.equal(counter.dropped, 2 + 3);
  assert.equal(counter.repeated, 1);
});

test('timestamp gaps count the frames missing between them', () => {
  const nominal = new TimestampDropCounter(25);
  const times = [0, 0.04, 0.08, 0.2, 0.241, 0.28];
  assert.deepEqual(times.map((t) => nominal.next(t)), [0, 0, 0, 2, 0, 0]);
  assert.equal(nominal.dropped, 2);
  const learned = new TimestampDropCounter(null); // the rate learned from the spacing
  assert.deepEqual([0, 0.033, 0.067, 0.1, 0.2, 0.233].map((t) => learned.next(t)), [0, 0, 0, 0, 2, 0]);
  assert.equal(nominal.repeated, 0);
  const repeating = new TimestampDropCounter(25); // a frame given twice: repeated, not a gap
  assert.deepEqual([0, 0.04, 0.04, 0.08, 0.2].map((t) => repeating.next(t)), [0, 0, 0, 0, 2]);
  assert.equal(repeating.repeated, 1);
  assert.equal(repeating.dropped, 2);
});
