// The inference worker: ONNX Runtime Web runs the model here, off the page's thread, so a
// 100 ms inference never stalls the video or the frame reader.
//
// The site serves onnxruntime-web's files itself (<site>/ort/, the list in ort-files.json): the
// worker imports ort.wasm.min.mjs (?ep=wasm) or ort.webgpu.min.mjs (?ep=webgpu), never the
// default bundle, and points env.wasm.wasmPaths at the site's ort/ so the .mjs and .wasm
// companions load from there; no other host is asked for anything (docs/web.md).
//
// Under ?parity=1 the worker also reads where ONNX Runtime placed the model's nodes: it creates
// the session at verbose log severity and reads the placement lines out of the log, which the
// runtime writes to this worker's console (core/placement.js); a live stream never pays for that.
//
// Messages in: init {card, ep, threads, warmup (one run on a zero clip before ready), placement
// (read the node placement), hold (?hold: the shown label's threshold, core/scores.js; null: off)}; port (a MessagePort from the frame worker, which sends
// {type: 'clip', clip, frameIndex, timestampS, capturedAtMs} and gets the clip's buffer back
// with {type: 'idle'}); bench {runs, pace (ms between paced runs; null: no paced runs)};
// parity. Out: ready, prediction, bench, parity, error.

import { benchmark } from './core/bench.js';
import { checkModel, checkOutput } from './core/card.js';
import { checkParityFiles, compareLogits, readFloat32LE } from './core/parity.js';
import { LogCapture, adapterRecord, parsePlacement } from './core/placement.js';
import { ms, predictionRecord } from './core/records.js';
import { Hold, TOP_K, scoreClip } from './core/scores.js';

const SITE = new URL('../', import.meta.url);
const BUNDLES = { wasm: 'ort.wasm.min.mjs', webgpu: 'ort.webgpu.min.mjs' };

let ort = null;
let session = null;
let card = null;
let setup = null; // {ep, threads, version, load_ms, crossOriginIsolated, placement, adapter}
let outputChecked = false;
let hold = null; // a Hold under ?hold: the label each prediction shows (core/scores.js)

const now = () => performance.timeOrigin + performance.now(); // comparable across workers

function errorText(err) {
  return err && err.message ? err.message : String(err);
}

function fail(err) {
  self.postMessage({ type: 'error', error: errorText(err) });
}

async function fetchSite(path, what) {
  let response;
  try {
    response = await fetch(new URL(path, SITE));
  } catch (err) {
    throw new Error(`${path} could not be fetched (${errorText(err)})`);
  }
  if (!response.ok) {
    throw new Error(`${path} is missing (HTTP ${response.status}): ${what}`);
  }
  return response;
}

async function init(message) {
  card = message.card;
  const { ep, threads } = message;
  hold = message.hold === null || message.hold === undefined ? null : new Hold(message.hold);
  const started = performance.now();
  if (ep === 'webgpu' && !('gpu' in navigator)) {
    throw new Error('ep=webgpu: this browser offers no WebGPU (navigator.gpu) to workers; use ep=wasm');
  }
  const bundle = new URL(`ort/${BUNDLES[ep]}`, SITE).href;
  // The console is wrapped before the runtime exists: its WebAssembly glue binds console.error
  // when it initialises, and keeps what it bound.
  const capture = message.placement ? new LogCapture(console).install() : null;
  try {
    ort = await import(bundle);
  } catch (err) {
    throw new Error(`ONNX Runtime Web did not load from ort/${BUNDLES[ep]} (${errorText(err)}): build the site with vmf-export --target web`);
  }
  ort.env.wasm.wasmPaths = new URL('ort/', SITE).href;
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false; // this worker is the proxy already
  ort.env.logLevel = 'error';
  const bytes = new Uint8Array(await (await fetchSite('model/model.onnx', 'build the site with vmf-export --target web')).arrayBuffer());
  const options = { executionProviders: [ep], graphOptimizationLevel: 'all' };
  // the placement is logged at verbose severity (0) only, by the session's own logger
  if (capture) options.logSeverityLevel = 0;
  let logLines = [];
  try {
    capture?.start();
    session = await ort.InferenceSession.create(bytes, options);
  } catch (err) {
    const hint = ep === 'webgpu' ? ' (this browser or its GPU may not offer WebGPU: try ep=wasm)' : '';
    throw new Error(`model/model.onnx did not load in ONNX Runtime Web (${ep}): ${errorText(err)}${hint}`);
  } finally {
    if (capture) logLines = capture.stop();
  }
  const metadata = Array.isArray(session.inputMetadata) ? session.inputMetadata : [];
  const input = metadata.find((m) => m.name === card.inputName);
  checkModel(card, { inputNames: session.inputNames, inputShape: input?.shape ?? null, outputNames: session.outputNames });
  let warmupMs = null;
  if (message.warmup) {
    warmupMs = ms((await infer(new Float32Array(card.inputShape.reduce((a, b) => a * b, 1)))).ms);
  }
  const versions = ort.env.versions ?? {};
  setup = {
    ep,
    threads,
    version: versions.web ?? versions.common ?? null,
    load_ms: ms(performance.now() - started),
    crossOriginIsolated: self.crossOriginIsolated === true,
    placement: capture ? parsePlacement(logLines) : null,
    adapter: ep === 'webgpu' ? adapterRecord(await webgpuAdapterInfo()) : null,
  };
  self.postMessage({ type: 'ready', ...setup, warmup_ms: warmupMs });
}

/**
 * The GPUAdapterInfo of the adapter the session runs on: the device ONNX Runtime Web created
 * carries it (GPUDevice.adapterInfo); a browser without that attribute gets the default
 * adapter's info, the same request the runtime makes (adapter.info, or requestAdapterInfo()
 * where that is the API). Null when the browser says nothing.
 */
async function webgpuAdapterInfo() {
  try {
    const device = await ort.env.webgpu?.device;
    if (device?.adapterInfo) return device.adapterInfo;
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return null;
    if (adapter.info) return adapter.info;
    return typeof adapter.requestAdapterInfo === 'function' ? await adapter.requestAdapterInfo() : null;
  } catch {
    return null; // a report of what runs: its absence does not stop the page
  }
}

async function infer(clip) {
  const feeds = { [card.inputName]: new ort.Tensor('float32', clip, card.inputShape) };
  const started = performance.now();
  const results = await session.run(feeds);
  const elapsed = performance.now() - started;
  const output = results[session.outputNames[0]];
  const logits = output.data ?? (await output.getData());
  if (!outputChecked) {
    checkOutput(card, output.dims, logits.length);
    outputChecked = true;
  }
  return { logits, ms: elapsed };
}

async function classify(port, job) {
  try {
    const { logits, ms: inferenceMs } = await infer(job.clip);
    const { top, shown, held } = scoreClip(logits, card.labels, TOP_K, hold);
    const record = predictionRecord({
      frameIndex: job.frameIndex,
      timestampS: job.timestampS,
      top,
      shown,
      held,
      inferenceMs,
      endToEndMs: now() - job.capturedAtMs,
    });
    self.postMessage({ type: 'prediction', record });
  } catch (err) {
    fail(err);
  } finally {
    // the buffer goes back to the frame worker, which writes the next clip into it
    port.postMessage({ type: 'idle', clip: job.clip }, [job.clip.buffer]);
  }
}

/** A fixed, structured clip for ?bench (values in the normalised range, no camera needed). */
function fixedClip(shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  const clip = new Float32Array(n);
  for (let i = 0; i < n; i++) clip[i] = 2 * Math.sin(i * 0.0007) * Math.cos(i * 0.000013);
  return clip;
}

/** ?bench=N&pace=MS: a cold run, N back to back, N one every MS ms (core/bench.js). */
async function bench(runs, pace) {
  const clip = fixedClip(card.inputShape);
  const figures = await benchmark(async () => (await infer(clip)).ms, {
    runs,
    paceMs: pace,
    clock: () => performance.now(),
    // whole milliseconds: a timer's resolution; benchmark() sleeps again while the tick is ahead
    sleep: (wait) => new Promise((resolve) => setTimeout(resolve, Math.ceil(wait))),
  });
  self.postMessage({
    type: 'bench',
    record: {
      ...figures,
      load_ms: setup.load_ms,
      runs,
      threads: setup.threads,
      ep: setup.ep,
      crossOriginIsolated: setup.crossOriginIsolated,
      version: setup.version,
    },
  });
}

async function parity() {
  const what = 'the site was built without its parity files; rebuild it with vmf-export --target web';
  let reference;
  try {
    reference = await (await fetchSite('model/parity.json', what)).json();
  } catch (err) {
    throw new Error(err instanceof SyntaxError ? `model/parity.json is not valid JSON (${err.message})` : errorText(err));
  }
  const bin = await (await fetchSite('model/parity.bin', what)).arrayBuffer();
  const { tolerance, logits: expected } = checkParityFiles(reference, card, bin.byteLength);
  const { logits, ms: inferenceMs } = await infer(readFloat32LE(bin));
  const figures = compareLogits(logits, expected);
  self.postMessage({
    type: 'parity',
    record: {
      max_rel_err: figures.max_rel_err,
      max_abs_err: figures.max_abs_err,
      max_abs_logit: figures.max_abs_logit,
      tolerance,
      passed: figures.max_rel_err <= tolerance,
      inference_ms: ms(inferenceMs),
      load_ms: setup.load_ms,
      threads: setup.threads,
      ep: setup.ep,
      placement: setup.placement,
      adapter: setup.adapter,
      crossOriginIsolated: setup.crossOriginIsolated,
      version: setup.version,
    },
  });
}

self.onmessage = (event) => {
  const message = event.data;
  let work;
  if (message.type === 'init') work = init(message);
  else if (message.type === 'bench') work = bench(message.runs, message.pace);
  else if (message.type === 'parity') work = parity();
  else if (message.type === 'port') {
    const port = event.ports[0];
    port.onmessage = (e) => {
      if (e.data.type === 'clip') classify(port, e.data);
    };
    return;
  } else {
    return;
  }
  work.catch(fail);
};
