// The last T preprocessed frames in a preallocated ring of T slots: each frame is written once,
// on arrival, into the slot over the oldest (slot() then commit(), so the preprocessor writes in
// place), and copyTo hands the clip out oldest first, the order the model takes, in two bulk
// copies (runtime/ring_buffer.py, the Android ClipBuffer).

export class ClipBuffer {
  constructor(frames, slotSize) {
    if (!(frames >= 1 && slotSize >= 1)) throw new RangeError('need at least one frame and one value per slot');
    this.frames = frames;
    this.slotSize = slotSize;
    this.storage = new Float32Array(frames * slotSize);
    this.next = 0; // the slot the next frame goes to; once full, it holds the oldest frame
    this.pushed = 0;
  }

  get clipSize() {
    return this.frames * this.slotSize;
  }

  get isFull() {
    return this.pushed >= this.frames;
  }

  /** The slot the next frame is written into (a view; valid until commit). */
  slot() {
    return this.storage.subarray(this.next * this.slotSize, (this.next + 1) * this.slotSize);
  }

  /** The slot just written becomes the newest frame. */
  commit() {
    this.next = (this.next + 1) % this.frames;
    this.pushed++;
  }

  /** Copies one preprocessed frame in, over the oldest. */
  push(values) {
    if (values.length < this.slotSize) {
      throw new RangeError(`slot has ${values.length} floats, needs ${this.slotSize}`);
    }
    this.slot().set(values.subarray ? values.subarray(0, this.slotSize) : values.slice(0, this.slotSize));
    this.commit();
  }

  /** Writes the clip, oldest frame first, into dst (a Float32Array of at least clipSize). */
  copyTo(dst) {
    if (!this.isFull) throw new Error(`clip holds ${this.pushed} of ${this.frames} frames`);
    if (dst.length < this.clipSize) throw new RangeError(`clip needs ${this.clipSize} floats, got ${dst.length}`);
    const split = this.next * this.slotSize;
    dst.set(this.storage.subarray(split), 0); // slots next .. T-1: the oldest
    dst.set(this.storage.subarray(0, split), this.clipSize - split); // then 0 .. next-1
    return dst;
  }

  /** Forgets every frame (storage is reused). */
  reset() {
    this.next = 0;
    this.pushed = 0;
  }
}
