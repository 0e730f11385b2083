// Where ONNX Runtime Web placed the model's nodes, and which WebGPU adapter ran them, for the
// ?parity=1 record (docs/web.md, "What the page reports").
//
// ONNX Runtime says where each node went only in its session log, at verbose severity, once per
// session, as it finishes partitioning the graph (session_state.cc, VerifyEachNodeIsAssignedToAnEp):
//
//   ... [V:onnxruntime:, session_state.cc:1581 VerifyEachNodeIsAssignedToAnEp]  All nodes placed on [CPUExecutionProvider]. Number of nodes: 746
//   ... Node(s) placed on [WebGpuExecutionProvider]. Number of nodes: 860      (one line per provider when
//   ... Node(s) placed on [CPUExecutionProvider]. Number of nodes: 16           the nodes are split)
//
// The WebAssembly runtime writes that log to stderr, which its Emscripten glue sends to
// console.error (bound when the runtime initialises, inside the first InferenceSession.create),
// so the worker reads it by wrapping the console before then (LogCapture below).

const PLACED = /(?:All nodes|Node\(s\)) placed on \[([^\]]+)\]\. Number of nodes: (\d+)/;
// the severity letter of an ONNX Runtime log line: [V:onnxruntime:...] verbose, I info, W, E, F
const ORT_SEVERITY = /\[([VIWEF]):onnxruntime:/;

/**
 * {"<execution provider>": nodes} from ONNX Runtime's log lines, summed over the placement
 * lines (a model with subgraphs logs one block per graph); null when no line says where the
 * nodes went (a runtime that logs differently): never a guess.
 */
export function parsePlacement(lines) {
  const placement = {};
  let found = false;
  for (const text of lines) {
    const m = PLACED.exec(text);
    if (!m) continue;
    found = true;
    placement[m[1]] = (placement[m[1]] ?? 0) + Number(m[2]);
  }
  return found ? placement : null;
}

/** True for ONNX Runtime's verbose and info lines, which only the placement capture asks for. */
export function isChattyOrtLine(text) {
  const m = ORT_SEVERITY.exec(text);
  return m !== null && (m[1] === 'V' || m[1] === 'I');
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug'];

/**
 * Wraps a console's methods once (install): between start and stop every line written is kept.
 * ONNX Runtime's verbose and info lines are never shown once installed: the page asked for them
 * only to read the placement, and a session created at verbose severity stays there, so the
 * WebGPU provider logs every shader it dispatches on every run. Anything else still reaches the
 * console. The wrappers stay in place after stop: the runtime holds on to the function it bound.
 */
export class LogCapture {
  constructor(target = console) {
    this.target = target;
    this.lines = null; // a list while recording
    this.installed = false;
  }

  install() {
    if (this.installed) return this;
    for (const name of CONSOLE_METHODS) {
      const original = this.target[name];
      if (typeof original !== 'function') continue;
      this.target[name] = (...args) => {
        const text = args.map((a) => (typeof a === 'string' ? a : String(a))).join(' ');
        this.lines?.push(text);
        if (isChattyOrtLine(text)) return undefined;
        return original.apply(this.target, args);
      };
    }
    this.installed = true;
    return this;
  }

  start() {
    this.install();
    this.lines = [];
  }

  /** The lines written since start; recording ends. */
  stop() {
    const lines = this.lines ?? [];
    this.lines = null;
    return lines;
  }
}

const ADAPTER_FIELDS = ['vendor', 'architecture', 'device', 'description'];

/**
 * A GPUAdapterInfo as a plain object for the record ({vendor, architecture, device,
 * description}, and isFallbackAdapter where the browser says), or null. Its fields are getters
 * on the prototype, which JSON.stringify would not see.
 */
export function adapterRecord(info) {
  if (info === null || typeof info !== 'object') return null;
  const record = {};
  for (const key of ADAPTER_FIELDS) record[key] = typeof info[key] === 'string' ? info[key] : null;
  if (typeof info.isFallbackAdapter === 'boolean') record.isFallbackAdapter = info.isFallbackAdapter;
  return record;
}
