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

function entry(probs, labels, i) {
  return { index: i, label: i < labels.length ? labels[i] : `class ${i}`, score: probs[i] };
}

/** The top k classes: [{index, label, score}], score the float32 probability. */
export function top(logits, labels, k = TOP_K) {
  const probs = softmax(logits);
  return topK(probs, k).map((i) => entry(probs, labels, i));
}

/**
 * The hold display policy, as runtime/scoring.py's Scorer(hold=...) and vmf-stream --hold
 * (docs/runtime.md, "Holding the shown label"): the first clip after a start or a reset() shows its
 * top-1; after that a clip whose top-1 probability is at least `threshold` shows its top-1, and any
 * other keeps the label shown before. A stream's wrong windows mostly score low, so this removes
 * most of the label's flicker.
 */
export class Hold {
  constructor(threshold) {
    if (!(threshold > 0 && threshold < 1)) throw new RangeError(`hold must be a score in (0, 1), got ${threshold}`);
    this.threshold = threshold;
    this.shown = null;
  }

  /** The class index to show after a clip with probabilities `probs` whose top-1 is `best`. */
  show(probs, best) {
    if (this.shown === null || probs[best] >= this.threshold) this.shown = best;
    return this.shown;
  }

  /** Forget the shown label: the next clip is shown as it is (a new scene). */
  reset() {
    this.shown = null;
  }
}

/**
 * One clip's scores: {top (as top()), shown, held}. With a Hold, `shown` is the class to show
 * ({index, label, score}, its probability in this clip) and `held` whether it is kept from an
 * earlier clip rather than this clip's top-1; without one both are null.
 */
export function scoreClip(logits, labels, k = TOP_K, hold = null) {
  const probs = softmax(logits);
  const best = topK(probs, k).map((i) => entry(probs, labels, i));
  if (hold === null) return { top: best, shown: null, held: null };
  const index = hold.show(probs, best[0].index);
  return { top: best, shown: entry(probs, labels, index), held: index !== best[0].index };
}
