// Agreement of the page's logits with the exporter's reference, with export/parity.py's
// definition: the largest absolute error relative to the largest |reference logit|, so the
// figure does not depend on the scale of the logits.

export function compareLogits(outputs, references) {
  if (outputs.length !== references.length) {
    throw new RangeError(`the model gave ${outputs.length} logits, the reference has ${references.length}`);
  }
  let absErr = 0;
  let scale = 0;
  for (let i = 0; i < outputs.length; i++) {
    absErr = Math.max(absErr, Math.abs(outputs[i] - references[i]));
    scale = Math.max(scale, Math.abs(references[i]));
  }
  return { max_abs_err: absErr, max_abs_logit: scale, max_rel_err: absErr / Math.max(scale, 1e-30) };
}

/** A parity.json's "logits", nested ([[...]]) or flat, as one flat list of numbers. */
export function flatLogits(logits) {
  const flat = Array.isArray(logits) ? logits.flat(Infinity) : null;
  if (!flat || !flat.length || !flat.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new RangeError('model/parity.json: logits must be a non-empty list of numbers');
  }
  return flat;
}

/** Checks model/parity.json against the card and the size of model/parity.bin (bytes). */
export function checkParityFiles(parity, card, byteLength) {
  const where = 'model/parity.json';
  if (parity === null || typeof parity !== 'object' || Array.isArray(parity)) throw new RangeError(`${where} is not a JSON object`);
  const { shape, tolerance } = parity;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new RangeError(`${where}: shape must be a list of positive integers`);
  }
  if (shape.join(',') !== card.inputShape.join(',')) {
    throw new RangeError(`${where}: shape [${shape.join(', ')}] is not the card's input_shape [${card.inputShape.join(', ')}]`);
  }
  if (!(typeof tolerance === 'number' && tolerance > 0)) throw new RangeError(`${where}: tolerance must be a positive number`);
  const values = shape.reduce((a, b) => a * b, 1);
  if (byteLength !== values * 4) {
    throw new RangeError(`model/parity.bin holds ${byteLength} bytes, not ${values * 4} (float32 [${shape.join(', ')}])`);
  }
  const logits = flatLogits(parity.logits);
  if (logits.length !== card.labels.length) {
    throw new RangeError(`${where}: ${logits.length} logits for ${card.labels.length} labels`);
  }
  return { shape, tolerance, logits };
}

/** parity.bin's bytes as float32 little-endian, whatever the machine's byte order. */
export function readFloat32LE(buffer) {
  const view = new DataView(buffer);
  const out = new Float32Array(buffer.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}
