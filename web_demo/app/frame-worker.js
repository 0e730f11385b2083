// The frame worker: every camera frame is read and preprocessed here, once, on arrival, into
// the clip ring (core/stream.js), and a due clip goes straight to the inference worker over a
// MessagePort as a transferred buffer; the page's thread only shows the video and the results.
//
// Frames come as VideoFrames from a MediaStreamTrackProcessor (its readable stream transferred
// from the page, or the track itself where the processor exists only in workers), or as
// ImageBitmaps the page takes at requestVideoFrameCallback, or, where this worker cannot draw
// (no OffscreenCanvas), as RGBA pixels the page read itself. Only the rectangle the centre crop
// reads is read back (a 640x480 camera: 480x480 of it), and only for frames the sampler keeps.

import { CODE_RECT, FrameCodeCounter, TimestampDropCounter, decodeFrameCode } from './core/framecode.js';
import { alignRect } from './core/preprocess.js';
import { StreamCore } from './core/stream.js';

let core = null;
let inferPort = null;
let framecode = false;
let codes = null; // FrameCodeCounter under ?debug=framecode
let gaps = null; // TimestampDropCounter otherwise
let presented = { last: null, dropped: 0, repeated: 0 }; // requestVideoFrameCallback's presentedFrames
let firstTimestamp = null;
let arrivals = 0;
let stopped = false;
let frameRead = null; // how pixels are read: 'VideoFrame.copyTo' or 'OffscreenCanvas'
let copyToWorks = typeof VideoFrame === 'function';
let copyBuffer = null;
const canvases = {};

const now = () => performance.timeOrigin + performance.now();

function errorText(err) {
  return err && err.message ? err.message : String(err);
}

function fail(err) {
  stopped = true;
  self.postMessage({ type: 'error', error: `reading camera frames failed: ${errorText(err)}` });
}

function context(name, width, height) {
  let entry = canvases[name];
  if (!entry) {
    const canvas = new OffscreenCanvas(width, height);
    entry = canvases[name] = { canvas, ctx: canvas.getContext('2d', { willReadFrequently: true }) };
    entry.ctx.imageSmoothingEnabled = false;
  }
  if (entry.canvas.width !== width || entry.canvas.height !== height) {
    entry.canvas.width = width;
    entry.canvas.height = height;
    entry.ctx.imageSmoothingEnabled = false;
  }
  return entry.ctx;
}

/** RGBA pixels of `rect` of a drawable frame, at 1:1 (no resampling: the preprocessor does it). */
function drawRect(name, source, rect) {
  const ctx = context(name, rect.width, rect.height);
  ctx.drawImage(source, rect.x, rect.y, rect.width, rect.height, 0, 0, rect.width, rect.height);
  return ctx.getImageData(0, 0, rect.width, rect.height).data;
}

function plainVideoFrame(frame) {
  const visible = frame.visibleRect;
  return (
    visible && !frame.rotation && !frame.flip &&
    frame.displayWidth === visible.width && frame.displayHeight === visible.height
  );
}

/** The crop's rectangle of the frame as an image the preprocessor takes. */
async function readCrop(source, rect, width, height) {
  if (copyToWorks && source instanceof VideoFrame && plainVideoFrame(source)) {
    // RGBA straight out of the frame into a reused buffer: no canvas, no new ImageData
    const r = alignRect(rect, width, height); // 4:2:0 chroma is on a 2-pixel grid
    const v = source.visibleRect;
    const size = r.width * r.height * 4;
    if (!copyBuffer || copyBuffer.length < size) copyBuffer = new Uint8ClampedArray(size);
    try {
      await source.copyTo(copyBuffer, {
        rect: { x: v.x + r.x, y: v.y + r.y, width: r.width, height: r.height },
        format: 'RGBA',
        colorSpace: 'srgb',
      });
      frameRead = 'VideoFrame.copyTo';
      return { ...r, data: copyBuffer, frameWidth: width, frameHeight: height };
    } catch {
      copyToWorks = false; // an older browser: the canvas below from now on
    }
  }
  frameRead = 'OffscreenCanvas';
  return { ...rect, data: drawRect('crop', source, rect), frameWidth: width, frameHeight: height };
}

/**
 * The counts for window.vmfStats. dropped: frames that never arrived; repeated: frames that
 * arrived with the previous one's frame code (?debug=framecode), presentedFrames, or timestamp
 * (Chromium's fake camera gives a frame twice where its file loops).
 */
function postStats() {
  const counter = framecode ? codes : presented.last !== null ? presented : gaps;
  self.postMessage({ type: 'stats', ...core.counts, dropped: counter.dropped, repeated: counter.repeated, frame_read: frameRead });
}

/**
 * One arriving frame: its number (arrival count, or the stamped code), the sampler, then, if
 * kept, the crop read and preprocessed into the ring; a due clip goes to the model when idle.
 * `source` is drawable (VideoFrame, ImageBitmap) or null when `pixels` carries it already.
 */
async function onFrame({ source = null, pixels = null, codePixels = null, width, height, timestampS, presentedFrames = null }) {
  const capturedAtMs = now();
  firstTimestamp ??= timestampS;
  const t = timestampS - firstTimestamp;
  let frameIndex;
  if (framecode) {
    const data = codePixels ?? drawRect('code', source, CODE_RECT);
    frameIndex = codes.next(decodeFrameCode({ width: CODE_RECT.width, height: CODE_RECT.height, data }));
  } else {
    frameIndex = arrivals;
    if (presentedFrames !== null) {
      if (presentedFrames === presented.last) presented.repeated++;
      else if (presented.last !== null) presented.dropped += Math.max(0, presentedFrames - presented.last - 1);
      presented.last = presentedFrames;
    } else {
      gaps.next(t);
    }
  }
  arrivals++;
  if (core.offer(t)) {
    const image = pixels ?? (await readCrop(source, core.sourceRect(height, width), width, height));
    const job = core.add(image, { frameIndex, timestampS: t, capturedAtMs });
    if (job) inferPort.postMessage({ type: 'clip', ...job }, [job.clip.buffer]);
  }
  postStats();
}

async function pump(readable) {
  const reader = readable.getReader();
  while (!stopped) {
    const { done, value: frame } = await reader.read();
    if (done) break;
    try {
      await onFrame({ source: frame, width: frame.displayWidth, height: frame.displayHeight, timestampS: frame.timestamp / 1e6 });
    } finally {
      frame.close();
    }
  }
  reader.releaseLock();
  if (!stopped) self.postMessage({ type: 'ended' });
}

self.onmessage = (event) => {
  const m = event.data;
  try {
    if (m.type === 'init') {
      core = new StreamCore(m.card, { hop: m.hop });
      framecode = m.framecode;
      codes = new FrameCodeCounter();
      gaps = new TimestampDropCounter(m.fps ?? null);
    } else if (m.type === 'port') {
      inferPort = event.ports[0];
      inferPort.onmessage = (e) => {
        if (e.data.type === 'idle') core.done(e.data.clip);
      };
    } else if (m.type === 'readable') {
      pump(m.readable).catch(fail);
    } else if (m.type === 'track') {
      // Safari exposes the processor in workers only, and lets the page transfer the track
      pump(new self.MediaStreamTrackProcessor({ track: m.track }).readable).catch(fail);
    } else if (m.type === 'bitmap') {
      onFrame({ source: m.bitmap, width: m.bitmap.width, height: m.bitmap.height, timestampS: m.timestampS, presentedFrames: m.presentedFrames })
        .catch(fail)
        .finally(() => m.bitmap.close());
    } else if (m.type === 'pixels') {
      frameRead = 'canvas (page thread)';
      onFrame(m).catch(fail);
    } else if (m.type === 'stop') {
      stopped = true;
    }
  } catch (err) {
    fail(err);
  }
};

self.postMessage({
  type: 'capabilities',
  trackProcessor: typeof self.MediaStreamTrackProcessor === 'function',
  offscreenCanvas: typeof OffscreenCanvas === 'function',
});
