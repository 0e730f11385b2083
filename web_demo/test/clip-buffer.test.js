import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ClipBuffer } from '../app/core/clip-buffer.js';

test('the clip comes out oldest first after the ring wraps', () => {
  const ring = new ClipBuffer(3, 2);
  assert.throws(() => ring.copyTo(new Float32Array(6)), /holds 0 of 3/);
  for (let f = 1; f <= 5; f++) ring.push(Float32Array.of(f, -f));
  assert.deepEqual(ring.copyTo(new Float32Array(6)), Float32Array.of(3, -3, 4, -4, 5, -5));
  // in place: slot() then commit()
  ring.slot().set([6, -6]);
  ring.commit();
  assert.deepEqual(ring.copyTo(new Float32Array(6)), Float32Array.of(4, -4, 5, -5, 6, -6));
  ring.reset();
  assert.equal(ring.isFull, false);
});

test('a short slot or a short destination is refused', () => {
  const ring = new ClipBuffer(2, 3);
  assert.throws(() => ring.push(Float32Array.of(1, 2)), RangeError);
  ring.push(Float32Array.of(1, 2, 3));
  ring.push(Float32Array.of(4, 5, 6));
  assert.throws(() => ring.copyTo(new Float32Array(5)), RangeError);
});
