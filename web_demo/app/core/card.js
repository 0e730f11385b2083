// The model card (model/card.json): the same checks and messages as validate_sidecar in
// contract/card.py and the Android ModelCard, so the page refuses a card the Python runtime
// would refuse and says why in the same words (docs/model-card.md).

import { pyNumber, pyRepr } from './pyformat.js';

/** The card's major version this page reads (SIDECAR_VERSION in contract/card.py). */
export const SIDECAR_VERSION = 1;
export const LAYOUTS = ['TCHW', 'THWC'];

const POSITIVE = { type: 'integer', minimum: 1 };
const OPEN_OBJECT = { type: 'object', additionalProperties: true };

/**
 * The card's JSON Schema properties (CARD_KEYS in contract/card.py, docs/model-card.schema.json),
 * descriptions left out. A test compares them with the schema the golden generator writes from
 * the Python side, so a key added there fails it until it is added here. Order is the schema's.
 */
export const CARD_PROPERTIES = {
  sidecar_version: POSITIVE,
  variant: { type: 'string' },
  baseline: { type: 'boolean' },
  frames: POSITIVE,
  resolution: POSITIVE,
  temporal_stride: POSITIVE,
  input_name: { type: 'string' },
  input_layout: { enum: ['TCHW', 'THWC'] },
  input_shape: { type: 'array', items: POSITIVE, minItems: 4, maxItems: 4 },
  mean: { type: 'array', items: { type: 'number' }, minItems: 3, maxItems: 3 },
  std: { type: 'array', items: { type: 'number', exclusiveMinimum: 0 }, minItems: 3, maxItems: 3 },
  color: { enum: ['RGB'] },
  labels: { type: 'array', items: { type: 'string' }, minItems: 1 },
  num_classes: POSITIVE,
  output: { enum: ['logits'] },
  target: { type: 'string' },
  form: { type: 'string' },
  precision: { enum: ['fp32', 'fp16', 'int8'] },
  converter: { type: ['string', 'null'] },
  weights_sha256: { type: ['string', 'null'] },
  untrained: { type: ['boolean', 'null'] },
  parity: { type: ['object', 'null'] },
  lint: { type: ['object', 'null'] },
  macs: { type: ['integer', 'null'], minimum: 0 },
  params: { type: ['integer', 'null'], minimum: 0 },
  sample_fps: { type: ['number', 'null'], exclusiveMinimum: 0 },
  clip_sampling: { enum: ['video', 'stream', null] },
  versions: { type: 'object', additionalProperties: { type: ['string', 'null'] } },
  created: { type: 'string' },
  partitions: OPEN_OBJECT,
  ort_config: { type: 'string' },
  providers: { type: 'array', items: { type: 'string' }, minItems: 1 },
  split: OPEN_OBJECT,
};

/** Keys every card carries (REQUIRED_KEYS in contract/card.py), in the schema's order. */
export const REQUIRED_KEYS = [
  'sidecar_version', 'variant', 'baseline', 'frames', 'resolution', 'temporal_stride',
  'input_name', 'input_layout', 'input_shape', 'mean', 'std', 'color', 'labels', 'output',
  'precision', 'converter', 'weights_sha256', 'untrained', 'parity', 'macs', 'params', 'versions',
];

const CARD_SCHEMA = { type: 'object', required: REQUIRED_KEYS, properties: CARD_PROPERTIES, additionalProperties: true };

export class CardError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CardError';
  }
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isType(value, name) {
  switch (name) {
    case 'null': return value === null;
    case 'boolean': return typeof value === 'boolean';
    // JSON.parse reads 64.0 as 64: an integral float passes as the Android core accepts it
    case 'integer': return typeof value === 'number' && Number.isInteger(value);
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'string': return typeof value === 'string';
    case 'array': return Array.isArray(value);
    case 'object': return isObject(value);
    default: throw new Error(`schema type ${name} is not supported`);
  }
}

function jsonType(value) {
  for (const name of ['null', 'boolean', 'integer', 'number', 'string', 'array', 'object']) {
    if (isType(value, name)) return name;
  }
  return typeof value;
}

/** The problems of `value` against the subset of JSON Schema the card uses (schema_errors). */
export function schemaErrors(value, schema, where = '') {
  const errors = [];
  const here = where || 'the card';
  if (schema.type !== undefined) {
    const wanted = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!wanted.some((t) => isType(value, t))) {
      return [`${here} must be ${wanted.join(' or ')}, not ${jsonType(value)}`];
    }
  }
  if (schema.enum !== undefined && !schema.enum.some((v) => v === value)) {
    const allowed = schema.enum.map((v) => (v === null ? 'null' : String(v))).join(', ');
    return [`${here} is ${pyRepr(value)}, not one of ${allowed}`];
  }
  if (isType(value, 'number')) {
    if (schema.minimum !== undefined && value < schema.minimum) {
      errors.push(`${here} is ${pyNumber(value)}, below ${pyNumber(schema.minimum)}`);
    }
    if (schema.exclusiveMinimum !== undefined && !(value > schema.exclusiveMinimum)) {
      errors.push(`${here} is ${pyNumber(value)}, must be > ${pyNumber(schema.exclusiveMinimum)}`);
    }
  }
  if (Array.isArray(value)) {
    if (value.length < (schema.minItems ?? 0)) {
      errors.push(`${here} has ${value.length} items, fewer than ${schema.minItems}`);
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      errors.push(`${here} has ${value.length} items, more than ${schema.maxItems}`);
    }
    if (schema.items !== undefined) {
      value.forEach((item, i) => errors.push(...schemaErrors(item, schema.items, `${here}[${i}]`)));
    }
  }
  if (isObject(value)) {
    const missing = (schema.required ?? []).filter((k) => !Object.hasOwn(value, k));
    if (missing.length) errors.push(`${here} lacks keys: ${missing.join(', ')}`);
    const props = schema.properties ?? {};
    for (const [key, item] of Object.entries(value)) {
      const sub = Object.hasOwn(props, key) ? props[key] : (schema.additionalProperties ?? true);
      if (sub === false) errors.push(`${here} has an unknown key ${pyRepr(key)}`);
      else if (isObject(sub)) errors.push(...schemaErrors(item, sub, where ? `${where}.${key}` : key));
    }
  }
  return errors;
}

/** The rank-4 input shape of a layout: [T, 3, R, R] or [T, R, R, 3]. */
export function inputShape(layout, frames, resolution) {
  return layout === 'TCHW' ? [frames, 3, resolution, resolution] : [frames, resolution, resolution, 3];
}

/**
 * Checks a parsed card as validate_sidecar does (same order, same messages) and returns the
 * input contract the page needs; throws CardError with one line naming `source`.
 */
export function validateCard(meta, source = 'model/card.json') {
  if (!isObject(meta)) throw new CardError(`${source} is not a JSON object`);
  const version = meta.sidecar_version;
  if (isType(version, 'integer') && version > SIDECAR_VERSION) {
    throw new CardError(
      `${source} is model card version ${version}, newer than this vmf reads (${SIDECAR_VERSION}): ` +
        'upgrade vmf (pip install -U vmf)',
    );
  }
  const missing = REQUIRED_KEYS.filter((k) => !Object.hasOwn(meta, k));
  if (missing.length) throw new CardError(`${source} lacks keys: ${missing.join(', ')}`);
  const fail = (what) => new CardError(`${source}: ${what}`);
  const layout = meta.input_layout;
  if (!LAYOUTS.includes(layout)) {
    throw fail(`input_layout ${pyRepr(layout)} is not one of ${LAYOUTS.join(', ')}`);
  }
  if (meta.color !== 'RGB') throw fail(`color ${pyRepr(meta.color)} is not supported (RGB only)`);
  const labels = meta.labels;
  if (!Array.isArray(labels) || !labels.length || !labels.every((x) => typeof x === 'string')) {
    throw fail('labels must be a non-empty list of strings');
  }
  const { mean, std } = meta;
  if (
    !Array.isArray(mean) || !Array.isArray(std) || mean.length !== 3 || std.length !== 3 ||
    !std.every((s) => isType(s, 'number') && s > 0)
  ) {
    throw fail('mean/std must be 3 numbers each, std > 0');
  }
  const problems = schemaErrors(meta, CARD_SCHEMA);
  if (problems.length) throw fail(problems[0]);
  const t = meta.frames;
  const r = meta.resolution;
  const expected = inputShape(layout, t, r);
  if (!expected.every((d, i) => meta.input_shape[i] === d)) {
    throw fail(
      `input_shape ${pyRepr(meta.input_shape)} does not match ${layout} with frames=${t}, ` +
        `resolution=${r} (expected ${pyRepr(expected)})`,
    );
  }
  if (t % meta.temporal_stride) {
    throw fail(`frames=${t} is not a multiple of temporal_stride=${meta.temporal_stride}`);
  }
  if (Object.hasOwn(meta, 'num_classes') && meta.num_classes !== labels.length) {
    throw fail(`${labels.length} labels for num_classes=${meta.num_classes} (one label per output value)`);
  }
  return {
    source,
    variant: meta.variant,
    frames: t,
    resolution: r,
    layout,
    inputName: meta.input_name,
    inputShape: expected,
    mean: mean.slice(),
    std: std.slice(),
    labels: labels.slice(),
    precision: meta.precision,
    sampleFps: meta.sample_fps ?? null,
    clipSampling: meta.clip_sampling ?? null,
    untrained: meta.untrained === true,
    target: meta.target ?? null,
    // the execution providers a web export ships runtime files for (export/web.py writes them);
    // null on a card that does not say, whose site the page cannot check beforehand
    providers: Array.isArray(meta.providers) ? meta.providers.slice() : null,
    versions: { ...meta.versions },
  };
}

/**
 * Refuses an execution provider the site ships no runtime files for (the card's providers), so
 * ?ep=webgpu on a WASM-only site is one line saying what to do instead of a failed import.
 */
export function checkProvider(card, ep) {
  const shipped = card.providers;
  if (shipped === null || shipped.includes(ep)) return;
  const names = shipped.length > 1 ? `${shipped.slice(0, -1).join(', ')} and ${shipped.at(-1)}` : shipped[0];
  throw new CardError(
    `ep=${ep}: this site ships ONNX Runtime Web for ${names} only (${card.source} providers): ` +
      `open it with ep=${shipped[0]}, or rebuild it with vmf-export --target web --delegate ${ep} (or all)`,
  );
}

/** Parses the card's text; a file that is not JSON gets the same one-line treatment. */
export function parseCard(text, source = 'model/card.json') {
  let meta;
  try {
    meta = JSON.parse(text);
  } catch (err) {
    throw new CardError(`${source} is not valid JSON (${err.message})`);
  }
  return validateCard(meta, source);
}

/**
 * Checks the loaded model against the card: its input (when the runtime reports a shape) must be
 * the card's input_shape under the card's input_name, its one output [1, labels]. The messages
 * say what to rebuild, as the Android ModelCard.checkModel does.
 */
export function checkModel(card, { inputNames, inputShape: modelShape = null, outputNames }) {
  if (!inputNames.includes(card.inputName)) {
    throw new CardError(
      `the model's inputs are ${inputNames.join(', ')} but ${card.source} says ${card.inputName}: ` +
        'rebuild the site with vmf-export --target web so model and card come from one export',
    );
  }
  if (outputNames.length !== 1) {
    throw new CardError(`the model has ${outputNames.length} outputs, expected one (logits)`);
  }
  const known = Array.isArray(modelShape) && modelShape.every((d) => typeof d === 'number');
  if (known && pyRepr(modelShape) !== pyRepr(card.inputShape)) {
    throw new CardError(
      `the model takes input ${pyRepr(modelShape)} but ${card.source} says ${pyRepr(card.inputShape)} ` +
        `(${card.layout}); rebuild the site with vmf-export --target web so model and card match`,
    );
  }
}

/** After the first run: the output must hold one score per label. */
export function checkOutput(card, dims, size) {
  if (size !== card.labels.length || (dims.length && dims[0] !== 1)) {
    throw new CardError(
      `the model gives output ${pyRepr(Array.from(dims))} but ${card.source} lists ` +
        `${card.labels.length} labels (expected [1, ${card.labels.length}])`,
    );
  }
}
