// Frames in, clips out: temporal sampling, per-frame preprocessing into the ring, the hop, and
// the busy rule of runtime/stream.py. A kept frame is preprocessed once, on arrival, straight
// into its ring slot; a clip is due once the ring holds T frames and then every `hop` kept
// frames; a due clip is handed out only when the model is idle, else that hop is skipped and
// counted (a live stream never queues clips behind a busy model: every prediction would come
// later than the one before). Clip buffers come back from the model and are reused, so a
// running stream allocates no clip-sized memory.

import { ClipBuffer } from './clip-buffer.js';
import { DEFAULT_HOP } from './params.js';
import { FramePreprocessor } from './preprocess.js';
import { TemporalSampler } from './sampler.js';

export class StreamCore {
  /** card: validateCard's result; sampleFps defaults to the card's (null: every frame). */
  constructor(card, { hop = DEFAULT_HOP, sampleFps = card.sampleFps } = {}) {
    if (!(Number.isInteger(hop) && hop >= 1)) throw new RangeError(`hop must be >= 1, got ${hop}`);
    this.hop = hop;
    this.frames = card.frames;
    this.preprocess = FramePreprocessor.forCard(card);
    this.ring = new ClipBuffer(card.frames, this.preprocess.slotSize);
    this.sampler = new TemporalSampler({ targetFps: sampleFps ?? null });
    this.busy = false;
    this.spare = null; // a clip buffer the model has given back
    this.counts = { frames: 0, kept: 0, hops: 0, skipped_hops: 0, clips: 0 };
  }

  /** The rectangle of a frame the preprocessor reads (read only that much of each frame). */
  sourceRect(frameHeight, frameWidth) {
    return this.preprocess.sourceRect(frameHeight, frameWidth);
  }

  /** Counts an arriving frame; whether it enters the clip (its pixels need reading only then). */
  offer(timestampS) {
    this.counts.frames++;
    return this.sampler.keep(timestampS);
  }

  /** True when the next kept frame completes a due clip (the ring is full on a hop boundary). */
  get dueNext() {
    const pushed = this.ring.pushed + 1;
    return pushed >= this.frames && (pushed - this.frames) % this.hop === 0;
  }

  /**
   * Preprocesses a kept frame into the ring. Returns the job when a clip is due and the model
   * is idle: {clip (Float32Array, oldest frame first), ...frame}; the caller sends it and calls
   * done() when the result is back. Returns null otherwise.
   */
  add(image, frame = {}) {
    this.preprocess.process(image, this.ring.slot());
    this.ring.commit();
    this.counts.kept++;
    const pushed = this.ring.pushed;
    if (pushed < this.frames || (pushed - this.frames) % this.hop !== 0) return null;
    this.counts.hops++;
    if (this.busy) {
      this.counts.skipped_hops++;
      return null;
    }
    const size = this.ring.clipSize;
    const clip = this.spare && this.spare.length === size ? this.spare : new Float32Array(size);
    this.spare = null;
    this.ring.copyTo(clip);
    this.busy = true;
    this.counts.clips++;
    return { ...frame, clip, start: pushed - this.frames };
  }

  /** The model finished the clip in flight; `clip` (its buffer given back) is reused. */
  done(clip = null) {
    this.busy = false;
    if (clip instanceof Float32Array && clip.length === this.ring.clipSize) this.spare = clip;
  }

  /** A new scene (a new camera): the next clip needs T new frames. */
  reset() {
    this.ring.reset();
    this.sampler.reset();
  }
}
