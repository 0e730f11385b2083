// The golden vectors scripts/make_android_golden.py writes from the Python contract (shared
// with the Android core's JUnit tests): a manifest plus raw little-endian blobs.

import { readFileSync } from 'node:fs';

export const GOLDEN = new URL('../../android_demo/core/src/test/resources/golden/', import.meta.url);

let manifest = null;

export function goldenManifest() {
  manifest ??= JSON.parse(readFileSync(new URL('manifest.json', GOLDEN), 'utf8'));
  return manifest;
}

export function goldenBytes(name) {
  return new Uint8Array(readFileSync(new URL(name, GOLDEN)));
}

export function goldenText(name) {
  return readFileSync(new URL(name, GOLDEN), 'utf8');
}

export function goldenFloats(name) {
  const bytes = goldenBytes(name);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

/** An OpenCV BGR frame of the manifest as the browser's RGBA ImageData (alpha 255). */
export function bgrFrameAsRGBA(name) {
  const spec = goldenManifest().frames[name];
  const bgr = goldenBytes(spec.file);
  const n = spec.height * spec.width;
  const data = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    data[4 * i] = bgr[3 * i + 2];
    data[4 * i + 1] = bgr[3 * i + 1];
    data[4 * i + 2] = bgr[3 * i];
    data[4 * i + 3] = 255;
  }
  return { width: spec.width, height: spec.height, data };
}

export function maxAbsDiff(a, b) {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}
