// The page: reads the URL parameters and the model card, starts the inference worker (ONNX
// Runtime Web) and, for a live stream, the camera and the frame worker; shows the top 5 and
// what runs; writes one console line per event (docs/web.md):
//
//   VMF-READY {...}   the model is loaded          VMF {...}        one prediction
//   VMF-BENCH {...}   ?bench=N (&pace=MS) finished VMF-PARITY {...} ?parity=1 finished
//   VMF-ERROR {"error": "..."}  anything that stops the page, also shown on it
//
// window.vmfStats holds the running counters for tests and for anyone with a console (its
// fields: docs/web.md).

import { describeBench } from './core/bench.js';
import { checkProvider, parseCard } from './core/card.js';
import { LatencyStats } from './core/latency.js';
import { isIOS, parseParams } from './core/params.js';
import { FramePreprocessor } from './core/preprocess.js';
import { CODE_RECT } from './core/framecode.js';
import { TAGS, line, ms } from './core/records.js';

const LATENCY_WINDOW = 256; // newest predictions the p50/p90 are taken over

const $ = (id) => document.getElementById(id);

const stats = {
  state: 'loading', // loading, ready, running, done (bench, parity), error
  error: null,
  frames: 0,
  dropped: 0,
  repeated: 0,
  kept: 0,
  hops: 0,
  skipped_hops: 0,
  predictions: 0,
  inference_p50_ms: null,
  inference_p90_ms: null,
  end_to_end_p50_ms: null,
  end_to_end_p90_ms: null,
  ep: null,
  threads: null,
  crossOriginIsolated: self.crossOriginIsolated === true,
  version: null,
  load_ms: null,
  hop: null,
  hold: null,
  sample_fps: null,
  framecode: false,
  frame_source: null,
  frame_read: null,
};
window.vmfStats = stats;

const workers = [];
let mediaStream = null;
let failed = false;

function errorText(err) {
  return err && err.message ? err.message : String(err);
}

/** One message on the page, one VMF-ERROR line, everything stopped; only the first counts. */
function fail(err) {
  if (failed) return;
  failed = true;
  const message = errorText(err);
  stats.state = 'error';
  stats.error = message;
  console.error(line(TAGS.error, { error: message }));
  const box = $('error');
  box.textContent = message;
  box.hidden = false;
  $('status').textContent = 'stopped';
  for (const w of workers) w.terminate();
  mediaStream?.getTracks().forEach((t) => t.stop());
}

window.addEventListener('error', (event) => fail(event.error ?? event.message));
window.addEventListener('unhandledrejection', (event) => fail(event.reason));

// --- what runs -------------------------------------------------------------------------------

const STAT_ROWS = [
  ['execution provider', () => stats.ep],
  ['threads', () => stats.threads],
  ['crossOriginIsolated', () => String(stats.crossOriginIsolated)],
  ['onnxruntime-web', () => stats.version],
  ['model load', () => (stats.load_ms === null ? null : `${stats.load_ms.toFixed(0)} ms`)],
  ['inference p50 / p90', () => pair(stats.inference_p50_ms, stats.inference_p90_ms)],
  ['end to end p50 / p90', () => pair(stats.end_to_end_p50_ms, stats.end_to_end_p90_ms)],
  ['frames (dropped, repeated)', () => `${stats.frames} (${stats.dropped}, ${stats.repeated})`],
  ['hops (skipped: model busy)', () => `${stats.hops} (${stats.skipped_hops})`],
  ['predictions', () => stats.predictions],
  ['hop, sample fps', () => `${stats.hop ?? '–'}, ${stats.sample_fps ?? 'every frame'}`],
  ['frames read by', () => [stats.frame_source, stats.frame_read].filter(Boolean).join(', ') || null],
];

function pair(a, b) {
  return a === null ? null : `${a.toFixed(1)} / ${b.toFixed(1)} ms`;
}

let statsCells = null;
let renderPending = false;

function render() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    if (!statsCells) {
      statsCells = STAT_ROWS.map(([label]) => {
        const dt = document.createElement('dt');
        dt.textContent = label;
        const dd = document.createElement('dd');
        $('stats').append(dt, dd);
        return dd;
      });
    }
    STAT_ROWS.forEach(([, value], i) => {
      statsCells[i].textContent = value() ?? '–';
    });
  });
}

/** ?hold: the label the stream shows, above the top 5 (whose first may be another, unsure one). */
function showShown(record) {
  const shown = $('shown');
  if (record.label === undefined) return;
  const held = record.held ? ' (held)' : '';
  shown.textContent = `${record.label} ${(100 * record.score).toFixed(1)}%${held}`;
  shown.hidden = false;
}

function showTop5(top5) {
  const list = $('top5');
  const items = top5.map(({ label, score }) => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.textContent = label;
    const value = document.createElement('span');
    value.className = 'score';
    value.textContent = `${(100 * score).toFixed(1)}%`;
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${Math.round(100 * score)}%`;
    li.append(name, value, bar);
    return li;
  });
  list.replaceChildren(...items);
}

function note(text) {
  const p = $('notes');
  p.textContent = p.textContent ? `${p.textContent} ${text}` : text;
}

function showResult(title, record) {
  $('result-title').textContent = title;
  $('result-body').textContent = JSON.stringify(record, null, 2);
  $('result').hidden = false;
  $('stage').hidden = true;
}

// --- loading -----------------------------------------------------------------------------------

async function loadCard() {
  const path = 'model/card.json';
  let response;
  try {
    response = await fetch(path);
  } catch (err) {
    throw new Error(`${path} could not be fetched (${errorText(err)})`);
  }
  if (!response.ok) {
    throw new Error(`${path} is missing (HTTP ${response.status}): build the site with vmf-export --target web`);
  }
  return parseCard(await response.text(), path);
}

function startWorker(name) {
  const worker = new Worker(new URL(`./${name}.js`, import.meta.url), { type: 'module' });
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    fail(`the ${name} did not run: ${event.message || 'its script did not load'}`);
  });
  workers.push(worker);
  return worker;
}

/** The next message of `type` from a worker; its error message rejects. */
function reply(worker, type) {
  return new Promise((resolve, reject) => {
    const listen = (event) => {
      if (event.data.type === type || event.data.type === 'error') {
        worker.removeEventListener('message', listen);
        if (event.data.type === 'error') reject(new Error(event.data.error));
        else resolve(event.data);
      }
    };
    worker.addEventListener('message', listen);
  });
}

// --- the camera ------------------------------------------------------------------------------------

async function openCamera() {
  if (!window.isSecureContext) {
    throw new Error('the camera needs a secure page: open it over https or from localhost (vmf-serve)');
  }
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser offers no camera API (getUserMedia)');
  try {
    // the rear camera on a phone; the browser's default size (typically 640x480) is plenty for
    // a model that sees R x R, and asking for a size could make the browser rescale frames
    return await navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false });
  } catch (err) {
    const name = err?.name;
    if (name === 'NotAllowedError' || name === 'SecurityError') {
      throw new Error('camera access was denied: allow the camera for this page and reload');
    }
    if (name === 'NotFoundError' || name === 'OverconstrainedError') throw new Error('no camera was found on this device');
    if (name === 'NotReadableError') throw new Error('the camera could not be started: another application may be using it');
    throw new Error(`the camera did not start (${name ?? 'error'}: ${errorText(err)})`);
  }
}

/** Frames to the frame worker: a track processor where there is one, else video frame callbacks. */
function feedFrames(frameWorker, capabilities, track, video, card) {
  if (typeof window.MediaStreamTrackProcessor === 'function') {
    try {
      const processor = new window.MediaStreamTrackProcessor({ track });
      frameWorker.postMessage({ type: 'readable', readable: processor.readable }, [processor.readable]);
      return 'MediaStreamTrackProcessor';
    } catch {
      // no transferable streams: the callbacks below
    }
  }
  if (capabilities.trackProcessor) {
    const clone = track.clone();
    try {
      frameWorker.postMessage({ type: 'track', track: clone }, [clone]);
      return 'MediaStreamTrackProcessor (worker)';
    } catch {
      clone.stop(); // tracks are not transferable here
    }
  }
  return readOnMainThread(frameWorker, capabilities, video, card);
}

/**
 * requestVideoFrameCallback (or animation frames) on this thread: each new frame goes to the
 * frame worker as an ImageBitmap, or, where the worker cannot draw, as the RGBA pixels of its
 * crop read here. A frame that comes while the previous one is still being taken is left out;
 * presentedFrames counts it as dropped.
 */
function readOnMainThread(frameWorker, capabilities, video, card) {
  const withCallbacks = 'requestVideoFrameCallback' in HTMLVideoElement.prototype;
  const pre = FramePreprocessor.forCard(card);
  let canvas = null;
  let ctx = null;
  let busy = false;
  let lastTime = -1;

  const pixelsOf = (rect) => {
    canvas ??= document.createElement('canvas');
    if (canvas.width !== rect.width || canvas.height !== rect.height) {
      canvas.width = rect.width;
      canvas.height = rect.height;
      ctx = null;
    }
    ctx ??= canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(video, rect.x, rect.y, rect.width, rect.height, 0, 0, rect.width, rect.height);
    return ctx.getImageData(0, 0, rect.width, rect.height).data;
  };

  const take = async (timestampS, presentedFrames) => {
    const width = video.videoWidth;
    const height = video.videoHeight;
    if (!width || !height) return;
    if (capabilities.offscreenCanvas) {
      const bitmap = await createImageBitmap(video);
      frameWorker.postMessage({ type: 'bitmap', bitmap, timestampS, presentedFrames }, [bitmap]);
      return;
    }
    const rect = pre.sourceRect(height, width);
    const data = pixelsOf(rect);
    const pixels = { ...rect, data, frameWidth: width, frameHeight: height };
    const codePixels = stats.framecode ? pixelsOf(CODE_RECT) : null;
    const transfer = [data.buffer, ...(codePixels ? [codePixels.buffer] : [])];
    frameWorker.postMessage({ type: 'pixels', pixels, codePixels, width, height, timestampS, presentedFrames }, transfer);
  };

  const onFrame = (now, meta) => {
    if (failed) return;
    if (!busy) {
      busy = true;
      const t = Number.isFinite(meta.captureTime) ? meta.captureTime / 1000 : meta.mediaTime;
      take(t, meta.presentedFrames).catch(fail).finally(() => {
        busy = false;
      });
    }
    video.requestVideoFrameCallback(onFrame);
  };

  const onAnimationFrame = () => {
    if (failed) return;
    if (!busy && video.currentTime !== lastTime) {
      lastTime = video.currentTime;
      busy = true;
      take(performance.now() / 1000, null).catch(fail).finally(() => {
        busy = false;
      });
    }
    requestAnimationFrame(onAnimationFrame);
  };

  if (withCallbacks) video.requestVideoFrameCallback(onFrame);
  else requestAnimationFrame(onAnimationFrame);
  return withCallbacks ? 'requestVideoFrameCallback' : 'requestAnimationFrame';
}

// --- the run -----------------------------------------------------------------------------------------

async function main() {
  const env = {
    crossOriginIsolated: self.crossOriginIsolated === true,
    hardwareConcurrency: navigator.hardwareConcurrency,
    ios: isIOS(navigator.userAgent, navigator.platform, navigator.maxTouchPoints),
  };
  const params = parseParams(location.search, env);
  Object.assign(stats, { ep: params.ep, threads: params.threads, hop: params.hop, hold: params.hold, framecode: params.framecode });
  render();

  $('status').textContent = 'loading the model…';
  const card = await loadCard();
  checkProvider(card, params.ep);
  stats.sample_fps = card.sampleFps;
  if (card.clipSampling === 'video') {
    note(`The model was trained on whole videos, not on stream windows of ${card.frames} frames: it may be unsure here.`);
  }
  if (card.untrained) note('The model card says the weights are untrained (random): the classes mean nothing.');

  const infer = startWorker('infer-worker');
  // A live stream warms the model up before the camera starts: the first run allocates the
  // runtime's buffers and takes about twice a hop's budget, which would cost skipped hops.
  // ?bench and ?parity report the cold first run themselves.
  const warmup = params.bench === null && !params.parity;
  // ?parity=1 also reports where the runtime placed the nodes, which costs a verbose session log
  infer.postMessage({ type: 'init', card, ep: params.ep, threads: params.threads, warmup, placement: params.parity, hold: params.hold });
  const ready = await reply(infer, 'ready');
  Object.assign(stats, { version: ready.version, load_ms: ready.load_ms, crossOriginIsolated: ready.crossOriginIsolated });
  const built = card.versions['onnxruntime-web'];
  if (built && ready.version && built !== ready.version) {
    note(`The site was exported for onnxruntime-web ${built}; this page runs ${ready.version}.`);
  }
  console.log(line(TAGS.ready, {
    load_ms: ready.load_ms,
    warmup_ms: ready.warmup_ms,
    ep: ready.ep,
    threads: ready.threads,
    crossOriginIsolated: ready.crossOriginIsolated,
    version: ready.version,
    frames: card.frames,
    resolution: card.resolution,
    labels: card.labels.length,
  }));
  stats.state = 'ready';
  render();
  infer.addEventListener('message', (event) => {
    if (event.data.type === 'error') fail(event.data.error);
  });

  if (params.bench !== null || params.parity) {
    const kind = params.bench !== null ? 'bench' : 'parity';
    const paced = params.pace === null ? '' : `, then ${params.bench} one every ${params.pace} ms`;
    $('status').textContent = kind === 'bench' ? `benchmark: ${params.bench} runs back to back${paced}…` : 'parity check…';
    infer.postMessage({ type: kind, runs: params.bench, pace: params.pace });
    const { record } = await reply(infer, kind);
    console.log(line(kind === 'bench' ? TAGS.bench : TAGS.parity, record));
    showResult(kind === 'bench' ? `Benchmark, ${params.bench} runs` : `Parity: ${record.passed ? 'passed' : 'FAILED'}`, record);
    // what a stream pays (paced) beside what back-to-back runs say (docs/performance.md)
    if (kind === 'bench') note(`Inference: ${describeBench(record)}.`);
    $('status').textContent = 'done';
    stats.state = 'done';
    return;
  }

  $('status').textContent = 'opening the camera…';
  mediaStream = await openCamera();
  const track = mediaStream.getVideoTracks()[0];
  if (!track) throw new Error('the camera gave no video track');
  track.addEventListener('ended', () => fail('the camera stopped (it was unplugged, or another application took it)'));
  const video = $('camera');
  video.srcObject = mediaStream;
  video.play().catch(() => {}); // muted, so it may autoplay; frames are read whether or not it shows

  const frameWorker = startWorker('frame-worker');
  const capabilities = await reply(frameWorker, 'capabilities');
  const channel = new MessageChannel();
  infer.postMessage({ type: 'port' }, [channel.port2]);
  frameWorker.postMessage({ type: 'port' }, [channel.port1]);
  const fps = track.getSettings().frameRate ?? null;
  frameWorker.postMessage({ type: 'init', card, hop: params.hop, framecode: params.framecode, fps });

  const inference = new LatencyStats(LATENCY_WINDOW);
  const endToEnd = new LatencyStats(LATENCY_WINDOW);
  infer.addEventListener('message', (event) => {
    if (event.data.type !== 'prediction') return;
    const { record } = event.data;
    console.log(line(TAGS.prediction, record));
    inference.add(record.inference_ms);
    endToEnd.add(record.end_to_end_ms);
    Object.assign(stats, {
      predictions: stats.predictions + 1,
      inference_p50_ms: ms(inference.p50),
      inference_p90_ms: ms(inference.p90),
      end_to_end_p50_ms: ms(endToEnd.p50),
      end_to_end_p90_ms: ms(endToEnd.p90),
    });
    showShown(record);
    showTop5(record.top5);
    render();
  });
  frameWorker.addEventListener('message', (event) => {
    const m = event.data;
    if (m.type === 'stats') {
      Object.assign(stats, {
        frames: m.frames,
        kept: m.kept,
        dropped: m.dropped,
        repeated: m.repeated,
        hops: m.hops,
        skipped_hops: m.skipped_hops,
        frame_read: m.frame_read,
      });
      render();
    } else if (m.type === 'error') {
      fail(m.error);
    } else if (m.type === 'ended') {
      fail('the camera stream ended');
    }
  });
  stats.frame_source = feedFrames(frameWorker, capabilities, track, video, card);
  stats.state = 'running';
  $('status').textContent = `running: ${card.variant}, ${card.frames} frames at ${card.resolution} px`;
  render();
}

window.addEventListener('pagehide', () => mediaStream?.getTracks().forEach((t) => t.stop()));

main().catch(fail);
