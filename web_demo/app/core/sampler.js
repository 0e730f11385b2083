// Which arriving frames enter the clip: contract/sampling.py's TemporalSampler, rule for rule,
// so a browser stream keeps the frames vmf-stream keeps from the same timestamps.
//
// Frames are kept every n-th, or at the card's sample_fps: a frame is kept when its timestamp
// reaches the next due time, and due times advance by 1/fps from the kept frame's due time (not
// its timestamp), so the kept rate matches the target over a long run without drifting. After a
// gap (dropped frames, a stall) the due time restarts from the frame that ends it.

// Timestamps of file frames are index / fps: a due time may be missed by a rounding error.
export const TIME_TOLERANCE_S = 1e-6;

export class TemporalSampler {
  /** {every} keeps every n-th frame, {targetFps} frames at that rate; neither: every frame. */
  constructor({ every = null, targetFps = null } = {}) {
    if (every !== null && targetFps !== null) throw new RangeError('choose one of every and targetFps, not both');
    if (every !== null && !(Number.isInteger(every) && every >= 1)) throw new RangeError(`every must be >= 1, got ${every}`);
    if (targetFps !== null && !(targetFps > 0)) throw new RangeError(`sample fps must be > 0, got ${targetFps}`);
    this.every = every;
    this.targetFps = targetFps;
    this.reset();
  }

  describe() {
    if (this.every !== null) return `every ${this.every}. frame`;
    if (this.targetFps !== null) return `${this.targetFps} fps`;
    return 'every frame';
  }

  reset() {
    this.seen = 0;
    this.dueS = null;
  }

  /** Whether the frame arriving now, at timestampS seconds, goes into the clip. */
  keep(timestampS) {
    const seen = this.seen++;
    if (this.every !== null) return seen % this.every === 0;
    if (this.targetFps === null) return true;
    const period = 1 / this.targetFps;
    if (this.dueS === null) this.dueS = timestampS;
    if (timestampS + TIME_TOLERANCE_S < this.dueS) return false;
    this.dueS += period;
    if (this.dueS <= timestampS) this.dueS = timestampS + period;
    return true;
  }
}

/** Indices of the frames kept from a video of n frames at fps (kept_indices in Python). */
export function keptIndices(n, { fps = null, sampleFps = null, sampleEvery = null } = {}) {
  if (sampleFps === null && sampleEvery === null) return Array.from({ length: n }, (_, i) => i);
  const sampler = new TemporalSampler({ every: sampleEvery, targetFps: sampleFps });
  const rate = fps || 1;
  const kept = [];
  for (let i = 0; i < n; i++) if (sampler.keep(i / rate)) kept.push(i);
  return kept;
}
