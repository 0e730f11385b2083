import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Hold, scoreClip, softmax, top, topK } from '../app/core/scores.js';
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

const LABELS = ['A', 'B', 'C'];
const logitsOf = (...probs) => Float32Array.from(probs, Math.log); // softmax gives probs back
// A confident A, an unsure B, an unsure C, a confident C, an unsure A (as tests/runtime/test_runtime_hold.py)
const SCRIPT = [logitsOf(0.9, 0.05, 0.05), logitsOf(0.3, 0.4, 0.3), logitsOf(0.25, 0.35, 0.4), logitsOf(0.1, 0.1, 0.8), logitsOf(0.45, 0.3, 0.25)];
const SHOWN = [['A', 0.9, false], ['A', 0.3, true], ['A', 0.25, true], ['C', 0.8, false], ['C', 0.25, true]];

test('hold: an unsure top-1 keeps the shown label, a confident one switches', () => {
  const hold = new Hold(0.5);
  SCRIPT.forEach((logits, i) => {
    const { top: best, shown, held } = scoreClip(logits, LABELS, 5, hold);
    const [label, score, isHeld] = SHOWN[i];
    assert.equal(shown.label, label, `clip ${i}`);
    assert.equal(held, isHeld, `clip ${i}`);
    assert.ok(Math.abs(shown.score - score) <= 1e-6, `clip ${i}: ${shown.score}`);
    assert.deepEqual(best, top(logits, LABELS, 5), 'the top classes are the clip\'s own');
  });
});

test('hold: the threshold itself switches, and reset() forgets the shown label', () => {
  const hold = new Hold(0.5);
  scoreClip(SCRIPT[0], LABELS, 5, hold);
  assert.equal(scoreClip(logitsOf(0.25, 0.5, 0.25), LABELS, 5, hold).shown.label, 'B');
  assert.equal(scoreClip(SCRIPT[2], LABELS, 5, hold).shown.label, 'B');
  hold.reset();
  const first = scoreClip(SCRIPT[2], LABELS, 5, hold);
  assert.equal(first.shown.label, 'C', 'the first clip after a reset is shown as it is');
  assert.equal(first.held, false);
});

test('without a hold every clip shows its top-1 and nothing else changes', () => {
  for (const logits of SCRIPT) {
    assert.deepEqual(scoreClip(logits, LABELS), { top: top(logits, LABELS), shown: null, held: null });
  }
});

test('a hold outside (0, 1) is refused', () => {
  for (const bad of [0, 1, 1.5, -0.2, NaN, undefined]) {
    assert.throws(() => new Hold(bad), /^RangeError: hold must be a score in \(0, 1\), got /);
  }
});
