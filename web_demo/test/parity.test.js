import assert from 'node:assert/strict';
import { test } from 'node:test';

import { checkParityFiles, compareLogits, readFloat32LE } from '../app/core/parity.js';

const card = { inputShape: [2, 3, 4, 4], labels: ['a', 'b', 'c'] };

test("max_rel_err is export/parity.py's: max abs error over max |reference|", () => {
  const r = compareLogits(Float32Array.of(1.0, -2.5, 0.25), [1.0, -2.0, 0.5]);
  assert.equal(r.max_abs_err, 0.5);
  assert.equal(r.max_abs_logit, 2.0);
  assert.equal(r.max_rel_err, 0.25);
  assert.equal(compareLogits([0, 0], [0, 0]).max_rel_err, 0);
  assert.throws(() => compareLogits([1], [1, 2]), RangeError);
});

test('parity files are checked against the card', () => {
  const bytes = 2 * 3 * 4 * 4 * 4;
  const good = { shape: [2, 3, 4, 4], logits: [[0.1, 0.2, 0.3]], tolerance: 1e-4 };
  assert.deepEqual(checkParityFiles(good, card, bytes).logits, [0.1, 0.2, 0.3]);
  assert.throws(() => checkParityFiles({ ...good, shape: [2, 4, 4, 3] }, card, bytes), /not the card's input_shape/);
  assert.throws(() => checkParityFiles(good, card, bytes - 4), /parity.bin holds/);
  assert.throws(() => checkParityFiles({ ...good, logits: [1, 2] }, card, bytes), /2 logits for 3 labels/);
  assert.throws(() => checkParityFiles({ ...good, tolerance: 0 }, card, bytes), /tolerance/);
});

test('parity.bin is little-endian float32', () => {
  const buffer = new ArrayBuffer(8);
  const view = new DataView(buffer);
  view.setFloat32(0, 1.5, true);
  view.setFloat32(4, -0.25, true);
  assert.deepEqual(readFloat32LE(buffer), Float32Array.of(1.5, -0.25));
});
