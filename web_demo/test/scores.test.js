import assert from 'node:assert/strict';
import { test } from 'node:test';

import { softmax, top, topK } from '../app/core/scores.js';
import { goldenFloats, goldenManifest } from './golden.js';

for (const [i, c] of goldenManifest().classify.entries()) {
  test(`logits case ${i}: softmax and top-${c.k} as runtime/scoring.py`, () => {
    const logits = goldenFloats(c.logits);
    assert.equal(logits.length, c.classes);
    assert.deepEqual(softmax(logits), goldenFloats(c.softmax));
    const labels = Array.from({ length: c.classes }, (_, j) => `class-${j}`);
    const best = top(logits, labels, c.k);
    assert.deepEqual(best.map((b) => b.index), c.top_indices);
    assert.deepEqual(best.map((b) => b.label), c.top_indices.map((j) => `class-${j}`));
    best.forEach((b, j) => assert.ok(Math.abs(b.score - c.top_probs[j]) <= 1e-7));
  });
}

test('top-k of fewer classes than k, and ties in index order', () => {
  assert.deepEqual(topK(Float32Array.of(0.2, 0.5, 0.2), 5), [1, 0, 2]);
  assert.deepEqual(topK(Float32Array.of(1, 1, 1, 1), 2), [0, 1]);
  assert.deepEqual(topK(Float32Array.of(3, 1, 2), 0), []);
});
