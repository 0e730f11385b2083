// Logits to probabilities and the k best classes, as runtime/scoring.py does: softmax in double
// precision shifted by the maximum, rounded to float32; classes ranked by those float32
// probabilities, equal ones in index order (numpy's stable argsort of -p).

export const TOP_K = 5;

export function softmax(logits) {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  const e = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    e[i] = Math.exp(logits[i] - max);
    sum += e[i];
  }
  const out = new Float32Array(logits.length);
  for (let i = 0; i < out.length; i++) out[i] = e[i] / sum;
  return out;
}

/** Indices of the k largest scores, largest first, equal scores in index order. */
export function topK(scores, k) {
  const n = Math.min(Math.max(k, 0), scores.length);
  const best = [];
  for (let i = 0; i < scores.length; i++) {
    let at = best.length;
    while (at > 0 && scores[i] > scores[best[at - 1]]) at--;
    if (at >= n) continue;
    best.splice(at, 0, i);
    if (best.length > n) best.pop();
  }
  return best;
}

/** The top k classes: [{index, label, score}], score the float32 probability. */
export function top(logits, labels, k = TOP_K) {
  const probs = softmax(logits);
  return topK(probs, k).map((i) => ({ index: i, label: i < labels.length ? labels[i] : `class ${i}`, score: probs[i] }));
}
