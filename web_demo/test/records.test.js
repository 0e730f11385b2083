import assert from 'node:assert/strict';
import { test } from 'node:test';

import { pyNumber, pyRepr, pyRound } from '../app/core/pyformat.js';
import { TAGS, line, ms, predictionRecord } from '../app/core/records.js';
import { goldenManifest } from './golden.js';

test("round() as Python's, ties to even", () => {
  const { values, round6, round3 } = goldenManifest().web.rounding;
  values.forEach((v, i) => {
    assert.equal(pyRound(v, 6), round6[i], `round(${v}, 6)`);
    assert.equal(pyRound(v, 3), round3[i], `round(${v}, 3)`);
  });
});

test("repr() as Python's", () => {
  assert.equal(pyRepr([8, 'a', null, true, 0.5, { k: 'it\'s' }]), `[8, 'a', None, True, 0.5, {'k': "it's"}]`);
  assert.equal(pyNumber(1e-5), '1e-05');
  assert.equal(pyNumber(0.0001), '0.0001');
  assert.equal(pyNumber(1.5e-7), '1.5e-07');
  assert.equal(pyNumber(2 ** 60), '1152921504606846976'); // integral: written as an int
  assert.equal(pyNumber(123.25), '123.25');
  assert.equal(pyNumber(-2.5), '-2.5');
});

test('a prediction line has the vmf-stream --jsonl shape', () => {
  const record = predictionRecord({
    frameIndex: 71,
    timestampS: 2.3666666666,
    top: [{ label: 'moving_left', score: Math.fround(0.912345678) }, { label: 'zoom_in', score: 0.0078125 }],
    inferenceMs: 123.45678,
    endToEndMs: 150.0005,
  });
  assert.deepEqual(Object.keys(record), ['type', 'frame_index', 'timestamp_s', 'top5', 'inference_ms', 'end_to_end_ms']);
  assert.deepEqual(record, {
    type: 'prediction',
    frame_index: 71,
    timestamp_s: 2.366667,
    top5: [{ label: 'moving_left', score: 0.912346 }, { label: 'zoom_in', score: 0.007812 }],
    inference_ms: 123.457,
    end_to_end_ms: 150.0,
  });
  const text = line(TAGS.prediction, record);
  assert.ok(text.startsWith('VMF {"type":"prediction",'));
  assert.deepEqual(JSON.parse(text.slice(4)), record);
  assert.equal(ms(NaN), null);
});

test('under ?hold a prediction line also has the shown label, its score and held', () => {
  const base = {
    frameIndex: 71,
    timestampS: 2.3666666666,
    top: [{ label: 'moving_left', score: Math.fround(0.41) }, { label: 'zoom_in', score: Math.fround(0.3123456789) }],
    inferenceMs: 123.45678,
    endToEndMs: 150.0005,
  };
  const record = predictionRecord({ ...base, shown: { index: 3, label: 'zoom_in', score: Math.fround(0.3123456789) }, held: true });
  // the order of vmf-stream --hold's --jsonl lines: runtime/scoring.py's to_dict, then the timings
  assert.deepEqual(Object.keys(record), ['type', 'frame_index', 'timestamp_s', 'top5', 'label', 'score', 'held', 'inference_ms', 'end_to_end_ms']);
  assert.equal(record.label, 'zoom_in');
  assert.equal(record.score, 0.312346);
  assert.equal(record.held, true);
  assert.equal(record.top5[0].label, 'moving_left');
  const shownItself = predictionRecord({ ...base, shown: { index: 0, ...base.top[0] }, held: false });
  assert.equal(shownItself.held, false);
  const plain = predictionRecord(base);
  assert.deepEqual(Object.keys(plain), ['type', 'frame_index', 'timestamp_s', 'top5', 'inference_ms', 'end_to_end_ms']);
  assert.deepEqual(plain, predictionRecord({ ...base, shown: null, held: null }));
});
