// Per-frame preprocessing: the input contract of contract/preprocess.py, ported formula for
// formula so the page feeds its model what the Python runtime and the export-time parity check
// feed theirs (tested against the Python golden vectors to 1e-5; in practice bit for bit).
//
// Scale the short side to R (bilinear, half-pixel centres, as cv2.resize INTER_LINEAR and
// torch's interpolate(align_corners=False) define it), take the centred R x R crop, normalise
// (v / 255 - mean) / std per RGB channel, write the slot in the card's layout (CHW of TCHW or
// HWC of THWC). Only the R x R output pixels are computed, each from its four source taps, so
// the cost does not grow with the camera's resolution. The float32 arithmetic runs in numpy's
// order with every operation rounded to float32 (Math.fround), as numpy computes it.

const fround = Math.fround;

/** Python's round() to an integer: half to even (61 * 24 / 48 = 30.5 gives 30). */
function roundHalfEven(v) {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function axis(src, scaled, offset, out) {
  const i0 = new Int32Array(out);
  const i1 = new Int32Array(out);
  const w = new Float32Array(out);
  const ratio = src / scaled;
  for (let o = 0; o < out; o++) {
    let s = (o + offset + 0.5) * ratio - 0.5;
    s = Math.min(Math.max(s, 0), src - 1);
    const lo = Math.floor(s);
    i0[o] = lo;
    i1[o] = Math.min(lo + 1, src - 1);
    w[o] = s - lo; // stored as float32, as numpy's astype(np.float32)
  }
  return [i0, i1, w];
}

/** Source rows/columns and weights of the resize-short-side + centre crop, per frame size. */
export class ResamplePlan {
  constructor(height, width, resolution) {
    if (!(height >= 1 && width >= 1 && resolution >= 1)) {
      throw new RangeError(`empty frame ${height}x${width}`);
    }
    this.height = height;
    this.width = width;
    this.resolution = resolution;
    const scale = resolution / Math.min(height, width);
    const scaledH = Math.max(resolution, roundHalfEven(height * scale));
    const scaledW = Math.max(resolution, roundHalfEven(width * scale));
    [this.rows0, this.rows1, this.rowW] = axis(height, scaledH, Math.floor((scaledH - resolution) / 2), resolution);
    [this.cols0, this.cols1, this.colW] = axis(width, scaledW, Math.floor((scaledW - resolution) / 2), resolution);
    const r = resolution;
    /** The source pixels the crop reads: a caller may hand over only this rectangle. */
    this.rect = {
      x: this.cols0[0],
      y: this.rows0[0],
      width: this.cols1[r - 1] - this.cols0[0] + 1,
      height: this.rows1[r - 1] - this.rows0[0] + 1,
    };
  }

  fits(height, width, resolution) {
    return height === this.height && width === this.width && resolution === this.resolution;
  }
}

/**
 * `rect` widened to multiples of `step` inside the frame: VideoFrame.copyTo wants a rectangle on
 * the chroma grid of a 4:2:0 frame.
 */
export function alignRect(rect, frameWidth, frameHeight, step = 2) {
  const x = Math.floor(rect.x / step) * step;
  const y = Math.floor(rect.y / step) * step;
  const right = Math.min(frameWidth, Math.ceil((rect.x + rect.width) / step) * step);
  const bottom = Math.min(frameHeight, Math.ceil((rect.y + rect.height) / step) * step);
  return { x, y, width: right - x, height: bottom - y };
}

export class FramePreprocessor {
  constructor(resolution, mean, std, layout = 'TCHW') {
    if (layout !== 'TCHW' && layout !== 'THWC') throw new RangeError(`unknown input layout ${layout}`);
    if (!(resolution >= 1) || mean.length !== 3 || std.length !== 3) {
      throw new RangeError('need a positive resolution and 3 mean/std values');
    }
    this.resolution = resolution;
    this.layout = layout;
    this.scale = new Float32Array(3);
    this.bias = new Float32Array(3);
    for (let c = 0; c < 3; c++) {
      // (v / 255 - mean) / std == v * scale + bias, each rounded to float32 as numpy does
      const s = fround(std[c]);
      this.scale[c] = fround(1 / fround(255 * s));
      this.bias[c] = fround(-fround(mean[c]) / s);
    }
    this.plan = null;
  }

  static forCard(card) {
    return new FramePreprocessor(card.resolution, card.mean, card.std, card.layout);
  }

  /** Floats in one slot: 3 * R * R. */
  get slotSize() {
    return 3 * this.resolution * this.resolution;
  }

  planFor(frameHeight, frameWidth) {
    if (!this.plan || !this.plan.fits(frameHeight, frameWidth, this.resolution)) {
      this.plan = new ResamplePlan(frameHeight, frameWidth, this.resolution);
    }
    return this.plan;
  }

  /** The rectangle of a frameWidth x frameHeight frame this preprocessor reads. */
  sourceRect(frameHeight, frameWidth) {
    return { ...this.planFor(frameHeight, frameWidth).rect };
  }

  /**
   * Writes the slot of `image` into out[offset .. offset + slotSize).
   *
   * `image` is ImageData-like: {width, height, data} with RGBA bytes (alpha ignored). It may
   * hold only part of the frame: then {x, y} place it in a frame of {frameWidth, frameHeight},
   * and it must cover sourceRect(frameHeight, frameWidth).
   */
  process(image, out, offset = 0) {
    const { width, height, data } = image;
    const x0 = image.x ?? 0;
    const y0 = image.y ?? 0;
    const frameW = image.frameWidth ?? width;
    const frameH = image.frameHeight ?? height;
    if (data.length < width * height * 4) {
      throw new RangeError(`RGBA data of ${data.length} bytes for a ${width}x${height} image`);
    }
    const plan = this.planFor(frameH, frameW);
    const { rect } = plan;
    if (rect.x < x0 || rect.y < y0 || rect.x + rect.width > x0 + width || rect.y + rect.height > y0 + height) {
      throw new RangeError(
        `the image at (${x0}, ${y0}) of ${width}x${height} does not cover the crop ` +
          `(${rect.x}, ${rect.y}) of ${rect.width}x${rect.height}`,
      );
    }
    const r = this.resolution;
    if (out.length < offset + 3 * r * r) throw new RangeError(`slot needs ${3 * r * r} floats`);
    const { rows0, rows1, rowW, cols0, cols1, colW } = plan;
    const [s0, s1, s2] = this.scale;
    const [b0, b1, b2] = this.bias;
    const stride = width * 4;
    const plane = r * r;
    const chw = this.layout === 'TCHW';
    for (let y = 0; y < r; y++) {
      const top = (rows0[y] - y0) * stride - x0 * 4;
      const bottom = (rows1[y] - y0) * stride - x0 * 4;
      const wy = rowW[y];
      const my = fround(1 - wy);
      for (let x = 0; x < r; x++) {
        const c0 = cols0[x] * 4;
        const c1 = cols1[x] * 4;
        const wx = colW[x];
        const mx = fround(1 - wx);
        const a = top + c0; // p(y0, x0)
        const b = bottom + c0; // p(y1, x0)
        const c = top + c1; // p(y0, x1)
        const d = bottom + c1; // p(y1, x1)
        // rows first (numpy blends the two source rows, then the two columns)
        const rl = fround(fround(data[a] * my) + fround(data[b] * wy));
        const rr = fround(fround(data[c] * my) + fround(data[d] * wy));
        const gl = fround(fround(data[a + 1] * my) + fround(data[b + 1] * wy));
        const gr = fround(fround(data[c + 1] * my) + fround(data[d + 1] * wy));
        const bl = fround(fround(data[a + 2] * my) + fround(data[b + 2] * wy));
        const br = fround(fround(data[c + 2] * my) + fround(data[d + 2] * wy));
        const red = fround(fround(rl * mx) + fround(rr * wx));
        const green = fround(fround(gl * mx) + fround(gr * wx));
        const blue = fround(fround(bl * mx) + fround(br * wx));
        if (chw) {
          const i = offset + y * r + x;
          out[i] = fround(red * s0) + b0;
          out[i + plane] = fround(green * s1) + b1;
          out[i + 2 * plane] = fround(blue * s2) + b2;
        } else {
          const i = offset + (y * r + x) * 3;
          out[i] = fround(red * s0) + b0;
          out[i + 1] = fround(green * s1) + b1;
          out[i + 2] = fround(blue * s2) + b2;
        }
      }
    }
  }
}
