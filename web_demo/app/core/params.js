// The page's URL parameters (docs/web.md), parsed and checked before anything loads, so a
// mistake is one clear message instead of a half-started page.

import { DEFAULT_PACE_MS } from './bench.js';

export const EPS = ['wasm', 'webgpu'];
export const DEFAULT_EP = 'wasm';
export const DEFAULT_HOP = 8; // kept frames between clips, as vmf-stream's --hop (runtime/clip_assembler.py)
export const MAX_DEFAULT_THREADS = 4;
const DEBUG_MODES = ['framecode'];

export class ParamError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ParamError';
  }
}

function positiveInt(params, name) {
  const text = params.get(name);
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new ParamError(`${name}=${text} must be a positive integer`);
  }
  return Number(text);
}

/**
 * Threads when ?threads is not given: up to 4 where the page is cross-origin isolated (WASM
 * threads need SharedArrayBuffer), else 1; always 1 on iOS, whose WebKit runs WASM threads
 * slower than one.
 */
export function defaultThreads({ crossOriginIsolated, hardwareConcurrency, ios }) {
  if (ios || !crossOriginIsolated) return 1;
  return Math.max(1, Math.min(MAX_DEFAULT_THREADS, hardwareConcurrency || 1));
}

/**
 * ?pace=MS for ?bench=N: the milliseconds between the paced runs, a number >= 0; 0 turns the
 * paced runs off (null). DEFAULT_PACE_MS when not given; null without bench.
 */
function paceOf(params, bench) {
  if (!params.has('pace')) return bench === null ? null : DEFAULT_PACE_MS;
  const text = params.get('pace');
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !Number.isFinite(Number(text))) {
    throw new ParamError(`pace=${text} must be a number of milliseconds, 0 or more (pace=0: no paced runs)`);
  }
  if (bench === null) throw new ParamError(`pace=${text} paces the runs of a benchmark: add bench=N, or leave pace out`);
  return Number(text) === 0 ? null : Number(text);
}

/**
 * ?hold=SCORE: keep showing the last label until a clip's top-1 scores at least SCORE, a number
 * in (0, 1) (scores.js's Hold; vmf-stream --hold); null when not given. It shapes what a live
 * stream shows, so a bench or parity run, which shows no stream, refuses it.
 */
function holdOf(params, bench, parity) {
  if (!params.has('hold')) return null;
  const text = params.get('hold');
  const value = Number(text);
  if (!/^[0-9]*\.?[0-9]+$/.test(text) || !(value > 0 && value < 1)) {
    throw new ParamError(`hold=${text} must be a score between 0 and 1, both excluded (e.g. hold=0.4)`);
  }
  if (bench !== null || parity) throw new ParamError(`hold=${text} holds a live stream's label: leave it out of bench and parity runs`);
  return value;
}

/**
 * {ep, threads, threadsAsked, hop, framecode, bench, pace, parity, hold} from a query string; env
 * is {crossOriginIsolated, hardwareConcurrency, ios}. Throws ParamError.
 */
export function parseParams(search, env) {
  const params = new URLSearchParams(search);
  const ep = params.has('ep') ? params.get('ep') : DEFAULT_EP;
  if (!EPS.includes(ep)) throw new ParamError(`ep=${ep} is not supported: use ep=wasm or ep=webgpu`);
  const threadsAsked = params.has('threads');
  const threads = threadsAsked ? positiveInt(params, 'threads') : defaultThreads(env);
  if (threads > 1 && !env.crossOriginIsolated) {
    throw new ParamError(
      `threads=${threads} needs a cross-origin isolated page (COOP and COEP headers, as vmf-serve sends them) ` +
        'for WebAssembly threads: serve the site with vmf-serve, or ask for threads=1',
    );
  }
  const hop = params.has('hop') ? positiveInt(params, 'hop') : DEFAULT_HOP;
  let framecode = false;
  if (params.has('debug')) {
    const mode = params.get('debug');
    if (!DEBUG_MODES.includes(mode)) throw new ParamError(`debug=${mode} is not supported (debug=framecode)`);
    framecode = mode === 'framecode';
  }
  const bench = params.has('bench') ? positiveInt(params, 'bench') : null;
  const pace = paceOf(params, bench);
  let parity = false;
  if (params.has('parity')) {
    if (params.get('parity') !== '1') throw new ParamError(`parity=${params.get('parity')} is not supported (parity=1)`);
    parity = true;
  }
  if (parity && bench !== null) throw new ParamError('bench and parity are separate runs: ask for one of them');
  const hold = holdOf(params, bench, parity);
  return { ep, threads, threadsAsked, hop, framecode, bench, pace, parity, hold };
}

/** iPhone, iPod, and iPad (which reports itself as a Mac with touch since iPadOS 13). */
export function isIOS(userAgent = '', platform = '', maxTouchPoints = 0) {
  return /iPad|iPhone|iPod/.test(userAgent) || (platform === 'MacIntel' && maxTouchPoints > 1);
}
