import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  CARD_PROPERTIES, CardError, REQUIRED_KEYS, checkModel, checkOutput, checkProvider, parseCard, validateCard,
} from '../app/core/card.js';
import { goldenManifest, goldenText } from './golden.js';

const SIDECAR = goldenText('sidecar.json');
const web = goldenManifest().web;

function mutate(mutation) {
  if ('replace' in mutation) return mutation.replace;
  const card = JSON.parse(SIDECAR);
  for (const key of mutation.delete ?? []) delete card[key];
  Object.assign(card, mutation.set ?? {});
  return card;
}

for (const c of web.card_errors) {
  test(`card "${c.name}": the message validate_sidecar gives`, () => {
    const card = mutate(c.mutation);
    if (c.error === null) {
      assert.doesNotThrow(() => validateCard(card, web.card_source));
    } else {
      assert.throws(() => validateCard(card, web.card_source), (err) => {
        assert.ok(err instanceof CardError);
        assert.equal(err.message, c.error);
        return true;
      });
    }
  });
}

test('the fixture card gives the input contract the manifest records', () => {
  const expected = goldenManifest().sidecar;
  const card = parseCard(SIDECAR);
  assert.equal(card.frames, expected.frames);
  assert.equal(card.resolution, expected.resolution);
  assert.equal(card.layout, expected.layout);
  assert.deepEqual(card.inputShape, expected.input_shape);
  assert.deepEqual(card.mean, expected.mean);
  assert.deepEqual(card.std, expected.std);
  assert.equal(card.labels.length, expected.labels);
  assert.equal(card.labels[0], expected.first_label);
  assert.equal(card.labels.at(-1), expected.last_label);
  assert.equal(card.sampleFps, expected.sample_fps);
  assert.equal(card.clipSampling, expected.clip_sampling);
});

test('text that is not JSON is one clear line', () => {
  assert.throws(() => parseCard('{"frames": 8,', 'model/card.json'), /^CardError: model\/card.json is not valid JSON \(/);
});

test("the schema is the Python card's (contract/card.py CARD_KEYS)", () => {
  const schema = web.card_schema;
  assert.deepEqual(Object.keys(CARD_PROPERTIES), Object.keys(schema.properties), 'keys and their order');
  assert.deepEqual(JSON.parse(JSON.stringify(CARD_PROPERTIES)), schema.properties);
  assert.deepEqual(REQUIRED_KEYS, schema.required);
});

test('a model whose input or output disagrees with the card is refused', () => {
  const card = parseCard(SIDECAR);
  const ok = { inputNames: [card.inputName], inputShape: card.inputShape, outputNames: ['logits'] };
  assert.doesNotThrow(() => checkModel(card, ok));
  assert.doesNotThrow(() => checkModel(card, { ...ok, inputShape: null })); // a runtime that does not say
  assert.throws(() => checkModel(card, { ...ok, inputNames: ['input'] }), new RegExp(`inputs are input but model/card.json says ${card.inputName}:`));
  assert.throws(
    () => checkModel(card, { ...ok, inputShape: [8, 3, 172, 172] }),
    /takes input \[8, 3, 172, 172\] but model\/card.json says \[8, 172, 172, 3\] \(THWC\)/,
  );
  assert.throws(() => checkModel(card, { ...ok, outputNames: ['a', 'b'] }), /2 outputs/);
  assert.doesNotThrow(() => checkOutput(card, [1, 400], 400));
  assert.throws(() => checkOutput(card, [1, 10], 10), /gives output \[1, 10\] but model\/card.json lists 400 labels/);
});

test("an execution provider the site ships no files for is refused by the card's providers", () => {
  const withProviders = (providers) => parseCard(JSON.stringify({ ...JSON.parse(SIDECAR), target: 'web', providers }));
  const wasmOnly = withProviders(['wasm']);
  assert.deepEqual(wasmOnly.providers, ['wasm']);
  assert.doesNotThrow(() => checkProvider(wasmOnly, 'wasm'));
  assert.throws(() => checkProvider(wasmOnly, 'webgpu'), (err) => {
    assert.ok(err instanceof CardError);
    assert.equal(
      err.message,
      'ep=webgpu: this site ships ONNX Runtime Web for wasm only (model/card.json providers): ' +
        'open it with ep=wasm, or rebuild it with vmf-export --target web --delegate webgpu (or all)',
    );
    return true;
  });
  assert.throws(() => checkProvider(withProviders(['webgpu']), 'wasm'), /ships ONNX Runtime Web for webgpu only .*open it with ep=webgpu/);
  const both = withProviders(['wasm', 'webgpu']);
  assert.doesNotThrow(() => checkProvider(both, 'wasm'));
  assert.doesNotThrow(() => checkProvider(both, 'webgpu'));
  // a card that does not say (not a web export, or an older one): nothing to check against
  const silent = parseCard(SIDECAR);
  assert.equal(silent.providers, null);
  assert.doesNotThrow(() => checkProvider(silent, 'webgpu'));
});
