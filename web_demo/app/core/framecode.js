// The frame code of ?debug=framecode (docs/web.md): a test video stamps each frame's number
// mod 256 into its top-left corner as 8 bits, most significant first; bit i is a block 4 px
// wide and 16 px tall at x = 4i .. 4i+3, y = 0 .. 15, white (luma >= 128) for 1, black for 0.
// The page reads the code instead of counting arrivals, so a frame dropped anywhere between the
// source and the page shows as a gap in the numbers.

export const CODE_BITS = 8;
export const BLOCK_WIDTH = 4;
export const BLOCK_HEIGHT = 16;
/** The region the code occupies (what a frame reader must hand to decodeFrameCode). */
export const CODE_RECT = Object.freeze({ x: 0, y: 0, width: CODE_BITS * BLOCK_WIDTH, height: BLOCK_HEIGHT });

/**
 * The code stamped in an RGBA image ({width, height, data}, optionally {x, y} of its top-left
 * corner in the frame). Each block is read at its centre, the 2 x 2 pixels at x = 4i+1 .. 4i+2,
 * y = 7 .. 8, averaged, so a codec's blur at block edges does not flip a bit.
 */
export function decodeFrameCode(image) {
  const { width, data } = image;
  const x0 = image.x ?? 0;
  const y0 = image.y ?? 0;
  if (x0 > 0 || y0 > 0 || width + x0 < CODE_RECT.width || image.height + y0 < CODE_RECT.height) {
    throw new RangeError(`the frame code needs the frame's top-left ${CODE_RECT.width}x${CODE_RECT.height} pixels`);
  }
  let code = 0;
  for (let i = 0; i < CODE_BITS; i++) {
    let luma = 0;
    for (let y = 7; y <= 8; y++) {
      for (let x = BLOCK_WIDTH * i + 1; x <= BLOCK_WIDTH * i + 2; x++) {
        const p = ((y - y0) * width + (x - x0)) * 4;
        luma += 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2]; // BT.601 luma
      }
    }
    code = (code << 1) | (luma / 4 >= 128 ? 1 : 0);
  }
  return code;
}

/**
 * Frame numbers from codes that wrap at 256: each code moves the number forward by the
 * smallest step that gives it (1 for the next frame, 3 after two drops), so numbers never go
 * back. The first code is taken as the first number. Steps of 0 (the same code again: a frame
 * the source repeated) keep the number and drop nothing.
 */
export class FrameCodeCounter {
  constructor() {
    this.index = null;
    this.dropped = 0;
    this.repeated = 0;
  }

  /** The frame number of the frame carrying `code`; updates dropped (frames never seen). */
  next(code) {
    if (!(Number.isInteger(code) && code >= 0 && code < 256)) throw new RangeError(`frame code ${code} is not 0..255`);
    if (this.index === null) {
      this.index = code;
      return this.index;
    }
    const step = (code - (this.index % 256) + 256) % 256;
    if (step === 0) this.repeated++;
    else this.dropped += step - 1;
    this.index += step;
    return this.index;
  }
}

/**
 * Frames dropped before they reached the page, estimated from their timestamps: a spacing of
 * about k frame intervals means k - 1 frames were lost. The interval is the camera's frame rate
 * when known, else a running average of the spacings that were not gaps (runtime/stream.py
 * watches a live source's spacing the same way). A frame with its predecessor's timestamp
 * counts as repeated, not as a gap.
 */
export class TimestampDropCounter {
  constructor(fps = null) {
    this.interval = fps > 0 ? 1 / fps : null;
    this.nominal = this.interval !== null;
    this.previous = null;
    this.dropped = 0;
    this.repeated = 0;
  }

  /** Registers a frame at timestampS; returns the frames missing before it. */
  next(timestampS) {
    const previous = this.previous;
    this.previous = timestampS;
    if (previous === null) return 0;
    const spacing = timestampS - previous;
    if (spacing === 0) this.repeated++;
    if (!(spacing > 0)) return 0;
    if (this.interval === null) {
      this.interval = spacing;
      return 0;
    }
    const missed = Math.max(0, Math.round(spacing / this.interval) - 1);
    if (missed === 0 && !this.nominal) this.interval = 0.9 * this.interval + 0.1 * spacing;
    this.dropped += missed;
    return missed;
  }
}
