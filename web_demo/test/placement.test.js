import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LogCapture, adapterRecord, isChattyOrtLine, parsePlacement } from '../app/core/placement.js';

// Lines as ONNX Runtime Web 1.31.1 writes them (the session log at verbose severity).
const PREFIX = '2026-01-01 12:00:00.000000 [V:onnxruntime:, session_state.cc:1581 VerifyEachNodeIsAssignedToAnEp]';

test('one provider: the "All nodes placed on" line', () => {
  const lines = [
    '2026-01-01 12:00:00.000000 [I:onnxruntime:, inference_session.cc:2767 operator()] Initializing session.',
    `${PREFIX.replace(':1581', ':1578')} Node placements`,
    `${PREFIX}  All nodes placed on [CPUExecutionProvider]. Number of nodes: 746`,
  ];
  assert.deepEqual(parsePlacement(lines), { CPUExecutionProvider: 746 });
});

test('split placement: one line per provider, the node lines under them ignored', () => {
  const lines = [
    `${PREFIX}  Node(s) placed on [WebGpuExecutionProvider]. Number of nodes: 860`,
    `${PREFIX}   Conv (/stem/conv/Conv)`,
    `${PREFIX}  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 16`,
    `${PREFIX}   Max (/block.3/dyrelu/Max)`,
  ];
  assert.deepEqual(parsePlacement(lines), { WebGpuExecutionProvider: 860, CPUExecutionProvider: 16 });
});

test('blocks of several graphs add up per provider', () => {
  const lines = [
    `${PREFIX}  All nodes placed on [CPUExecutionProvider]. Number of nodes: 10`,
    `${PREFIX}  All nodes placed on [CPUExecutionProvider]. Number of nodes: 3`,
  ];
  assert.deepEqual(parsePlacement(lines), { CPUExecutionProvider: 13 });
});

test('no placement line gives null, not an empty or guessed placement', () => {
  assert.equal(parsePlacement([]), null);
  assert.equal(parsePlacement(['Session successfully initialized.', 'placed on [X] somewhere']), null);
});

test('only verbose and info lines of the runtime are chatty', () => {
  assert.ok(isChattyOrtLine(`${PREFIX} Node placements`));
  assert.ok(isChattyOrtLine('2026-01-01 [I:onnxruntime:, webgpu_context.cc:559 Run] Starting program "Gemm"'));
  assert.ok(!isChattyOrtLine('2026-01-01 [W:onnxruntime:, session_state.cc:1280 VerifyEachNodeIsAssignedToAnEp] Some nodes were not assigned'));
  assert.ok(!isChattyOrtLine('[E:onnxruntime:Default, env.cc:234 ThreadMain] failed'));
  assert.ok(!isChattyOrtLine('VMF-READY {"ep": "wasm"}'));
});

function fakeConsole() {
  const shown = [];
  const target = {};
  for (const name of ['log', 'info', 'warn', 'error', 'debug']) target[name] = (...args) => shown.push(`${name}: ${args.join(' ')}`);
  return { target, shown };
}

test('the capture keeps what is written while recording, hides only the chatty lines, and stays bound', () => {
  const { target, shown } = fakeConsole();
  const capture = new LogCapture(target).install();
  const bound = target.error.bind(target); // as the runtime's glue binds it, before recording starts
  target.log('before');
  capture.start();
  bound(`${PREFIX}  All nodes placed on [CPUExecutionProvider]. Number of nodes: 746`);
  bound('[W:onnxruntime:, x.cc:1 F] a warning');
  target.log('VMF-READY', '{}');
  const lines = capture.stop();
  bound('[I:onnxruntime:, webgpu_context.cc:559 Run] Starting program "Gemm"');
  bound('[E:onnxruntime:, x.cc:1 F] an error');
  assert.deepEqual(lines, [
    `${PREFIX}  All nodes placed on [CPUExecutionProvider]. Number of nodes: 746`,
    '[W:onnxruntime:, x.cc:1 F] a warning',
    'VMF-READY {}',
  ]);
  assert.deepEqual(shown, ['log: before', 'error: [W:onnxruntime:, x.cc:1 F] a warning', 'log: VMF-READY {}', 'error: [E:onnxruntime:, x.cc:1 F] an error']);
  assert.deepEqual(parsePlacement(lines), { CPUExecutionProvider: 746 });
  const wrapped = target.error;
  capture.install(); // once only: a second install does not wrap the wrappers
  assert.equal(target.error, wrapped);
});

test("an adapter's info becomes a plain record; nothing gives null", () => {
  // GPUAdapterInfo's fields are prototype getters, which JSON.stringify does not see
  class AdapterInfo {
    get vendor() { return 'google'; }
    get architecture() { return 'swiftshader'; }
    get device() { return ''; }
    get description() { return 'SwiftShader Device (Subzero)'; }
    get isFallbackAdapter() { return true; }
  }
  const info = new AdapterInfo();
  assert.equal(JSON.stringify(info), '{}');
  assert.deepEqual(adapterRecord(info), {
    vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader Device (Subzero)', isFallbackAdapter: true,
  });
  assert.deepEqual(adapterRecord({ vendor: 'x' }), { vendor: 'x', architecture: null, device: null, description: null });
  assert.equal(adapterRecord(null), null);
  assert.equal(adapterRecord(undefined), null);
});
