import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ParamError, defaultThreads, isIOS, parseParams } from '../app/core/params.js';

const isolated = { crossOriginIsolated: true, hardwareConcurrency: 8, ios: false };
const plain = { crossOriginIsolated: false, hardwareConcurrency: 8, ios: false };

test('defaults: wasm, hop 8, up to 4 threads when isolated, else 1, 1 on iOS', () => {
  assert.deepEqual(parseParams('', isolated), {
    ep: 'wasm', threads: 4, threadsAsked: false, hop: 8, framecode: false, bench: null, pace: null, parity: false, hold: null,
  });
  assert.equal(parseParams('', { ...isolated, hardwareConcurrency: 2 }).threads, 2);
  assert.equal(parseParams('', plain).threads, 1);
  assert.equal(parseParams('', { ...isolated, ios: true }).threads, 1);
  assert.equal(defaultThreads({ crossOriginIsolated: true, hardwareConcurrency: undefined, ios: false }), 1);
});

test('every parameter read', () => {
  const p = parseParams('?ep=webgpu&threads=2&hop=4&debug=framecode&bench=20', isolated);
  assert.deepEqual(p, {
    ep: 'webgpu', threads: 2, threadsAsked: true, hop: 4, framecode: true, bench: 20, pace: 267, parity: false, hold: null,
  });
  assert.equal(parseParams('?hop=4&hold=0.4', plain).hold, 0.4);
  assert.equal(parseParams('?parity=1&threads=1', plain).parity, true);
});

test('pace: the paced runs of a benchmark, 267 ms unless asked, 0 for none', () => {
  assert.equal(parseParams('?bench=5', plain).pace, 267);
  assert.equal(parseParams('?bench=5&pace=100', plain).pace, 100);
  assert.equal(parseParams('?bench=5&pace=266.67', plain).pace, 266.67);
  assert.equal(parseParams('?bench=5&pace=0', plain).pace, null);
  assert.equal(parseParams('?parity=1', plain).pace, null);
});

test('hold: a score in (0, 1) for a live stream', () => {
  assert.equal(parseParams('?hold=0.4', plain).hold, 0.4);
  assert.equal(parseParams('?hold=.75', plain).hold, 0.75);
  assert.equal(parseParams('?hold=0.999', plain).hold, 0.999);
  assert.equal(parseParams('', plain).hold, null);
});

test('mistakes are one clear message', () => {
  const cases = [
    ['?ep=cuda', plain, /ep=cuda is not supported: use ep=wasm or ep=webgpu/],
    ['?threads=0', isolated, /threads=0 must be a positive integer/],
    ['?threads=two', isolated, /threads=two must be a positive integer/],
    ['?threads=2', plain, /threads=2 needs a cross-origin isolated page/],
    ['?hop=-1', plain, /hop=-1 must be a positive integer/],
    ['?hop=1.5', plain, /hop=1.5 must be a positive integer/],
    ['?bench=', plain, /bench= must be a positive integer/],
    ['?debug=verbose', plain, /debug=verbose is not supported/],
    ['?parity=yes', plain, /parity=yes is not supported/],
    ['?parity=1&bench=5', plain, /one of them/],
    ['?bench=5&pace=-1', plain, /^pace=-1 must be a number of milliseconds, 0 or more \(pace=0: no paced runs\)$/],
    ['?bench=5&pace=fast', plain, /^pace=fast must be a number of milliseconds, 0 or more/],
    ['?bench=5&pace=', plain, /^pace= must be a number of milliseconds/],
    ['?bench=5&pace=1e3', plain, /^pace=1e3 must be a number of milliseconds/],
    ['?pace=100', plain, /^pace=100 paces the runs of a benchmark: add bench=N, or leave pace out$/],
    ['?hold=1', plain, /^hold=1 must be a score between 0 and 1, both excluded \(e\.g\. hold=0\.4\)$/],
    ['?hold=0', plain, /^hold=0 must be a score between 0 and 1/],
    ['?hold=-0.4', plain, /^hold=-0.4 must be a score between 0 and 1/],
    ['?hold=high', plain, /^hold=high must be a score between 0 and 1/],
    ['?hold=', plain, /^hold= must be a score between 0 and 1/],
    ['?hold=4e-1', plain, /^hold=4e-1 must be a score between 0 and 1/],
    ['?hold=0.4&bench=5', plain, /^hold=0.4 holds a live stream's label: leave it out of bench and parity runs$/],
    ['?hold=0.4&parity=1', plain, /^hold=0.4 holds a live stream's label/],
  ];
  for (const [search, env, message] of cases) assert.throws(() => parseParams(search, env), (err) => err instanceof ParamError && message.test(err.message), search);
});

test('iOS is recognised, iPad included', () => {
  assert.ok(isIOS('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)', 'iPhone', 5));
  assert.ok(isIOS('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)', 'MacIntel', 5));
  assert.ok(!isIOS('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)', 'MacIntel', 0));
  assert.ok(!isIOS('Mozilla/5.0 (Linux; Android 14)', 'Linux armv8l', 5));
});
