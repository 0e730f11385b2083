// The console lines the page writes, one JSON object each, read by the browser tests and by
// anyone who records a session (docs/web.md). A prediction has the shape of vmf-stream
// --jsonl's prediction lines (runtime/cli.py, runtime/scoring.py), rounded as Python rounds.

import { pyRound } from './pyformat.js';

export const TAGS = Object.freeze({
  prediction: 'VMF',
  ready: 'VMF-READY',
  bench: 'VMF-BENCH',
  parity: 'VMF-PARITY',
  error: 'VMF-ERROR',
});

/** `TAG {json}`: one line, the tag then the JSON object. */
export function line(tag, record) {
  return `${tag} ${JSON.stringify(record)}`;
}

/**
 * {"type": "prediction", "frame_index", "timestamp_s", "top5": [{"label", "score"}],
 * "inference_ms", "end_to_end_ms"}: frame_index and timestamp_s are the clip's newest frame's.
 * Under ?hold (`shown` given, scores.js's scoreClip) "label", "score" and "held" follow "top5":
 * the label shown, its probability in this clip, and whether it is held from an earlier clip.
 */
export function predictionRecord({ frameIndex, timestampS, top, shown = null, held = null, inferenceMs, endToEndMs }) {
  const record = {
    type: 'prediction',
    frame_index: frameIndex,
    timestamp_s: pyRound(timestampS, 6),
    top5: top.map(({ label, score }) => ({ label, score: pyRound(score, 6) })),
  };
  if (shown !== null) Object.assign(record, { label: shown.label, score: pyRound(shown.score, 6), held: held === true });
  record.inference_ms = pyRound(inferenceMs, 3);
  record.end_to_end_ms = pyRound(endToEndMs, 3);
  return record;
}

/** A figure in ms for the stats and summary lines: 3 decimals, null when there is none. */
export function ms(value) {
  return Number.isFinite(value) ? pyRound(value, 3) : null;
}
