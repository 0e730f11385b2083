// ort-files.json lists the files of onnxruntime-web's dist/ the page loads for each execution
// provider (vmf-export --target web copies exactly those into <site>/ort/). These tests read
// the pinned package: the bundle the worker imports must be listed, and so must every file it
// and its companions fetch, so the site never asks another host for one.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

const root = new URL('../', import.meta.url);
const files = JSON.parse(readFileSync(new URL('ort-files.json', root), 'utf8'));
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const dist = new URL('node_modules/onnxruntime-web/dist/', root);
const installed = existsSync(dist);
const skip = installed ? false : 'onnxruntime-web is not installed: run npm install in web_demo';

test('onnxruntime-web is pinned to one exact version, the one the lock file holds', () => {
  const version = pkg.dependencies['onnxruntime-web'];
  assert.match(version, /^\d+\.\d+\.\d+$/, 'an exact version, no range');
  const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8'));
  assert.equal(lock.packages['node_modules/onnxruntime-web'].version, version);
});

test('the worker imports the first file of each list, never the default bundle', () => {
  const worker = readFileSync(new URL('app/infer-worker.js', root), 'utf8');
  assert.deepEqual(Object.keys(files), ['wasm', 'webgpu']);
  for (const [ep, list] of Object.entries(files)) {
    assert.match(list[0], new RegExp(`^ort\\.${ep}\\.min\\.mjs$`));
    assert.ok(worker.includes(`'${list[0]}'`), `infer-worker.js names ${list[0]}`);
  }
  assert.ok(!/ort\.min\.mjs|ort\.all\./.test(worker));
});

test('each listed file is in the installed package, at the pinned version', { skip }, () => {
  const installedPkg = JSON.parse(readFileSync(new URL('../package.json', dist), 'utf8'));
  assert.equal(installedPkg.version, pkg.dependencies['onnxruntime-web']);
  for (const list of Object.values(files)) for (const name of list) assert.ok(existsSync(new URL(name, dist)), name);
});

test('every runtime file a listed bundle fetches is listed with it', { skip }, () => {
  for (const [ep, list] of Object.entries(files)) {
    const fetched = new Set();
    for (const name of list.filter((n) => n.endsWith('.mjs'))) {
      const text = readFileSync(new URL(name, dist), 'utf8');
      for (const match of text.matchAll(/ort-wasm-simd-threaded[a-z.]*\.(?:mjs|wasm)/g)) fetched.add(match[0]);
    }
    assert.ok(fetched.size >= 2, `${ep}: the bundle names its .mjs and that names its .wasm`);
    for (const name of fetched) assert.ok(list.includes(name), `${ep} fetches ${name}, which is not listed`);
  }
});
