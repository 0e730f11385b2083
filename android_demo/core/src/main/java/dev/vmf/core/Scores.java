package dev.vmf.core;

import java.util.ArrayList;
import java.util.List;

/**
 * Logits to probabilities and the k best classes, exactly as {@code vmf.runtime.scoring} does:
 * softmax in double precision, shifted by the maximum, rounded to float32; then the classes
 * ranked by those float32 probabilities, equal ones keeping the lower index first (numpy's
 * stable argsort). Ranking the rounded probabilities, not the logits, matters only for classes
 * whose probabilities round to the same float, and there it is what the Python side reports.
 */
public final class Scores {
    private Scores() {
    }

    public static float[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double[] e = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            e[i] = Math.exp((double) logits[i] - max);
            sum += e[i];
        }
        float[] out = new float[logits.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) (e[i] / sum);
        }
        return out;
    }

    /**
     * Indices of the {@code k} largest scores, largest first, equal scores in index order.
     * Returns min(k, n) indices.
     */
    public static int[] topK(float[] scores, int k) {
        int n = Math.min(Math.max(k, 0), scores.length);
        int[] best = new int[n];
        int filled = 0;
        for (int i = 0; i < scores.length; i++) { // insertion into a sorted top-k: k is tiny
            int at = filled;
            while (at > 0 && scores[i] > scores[best[at - 1]]) {
                at--;
            }
            if (at >= n) {
                continue;
            }
            int end = Math.min(filled, n - 1);
            System.arraycopy(best, at, best, at + 1, end - at);
            best[at] = i;
            filled = Math.min(filled + 1, n);
        }
        return best;
    }

    /** The top {@code k} classes with their labels and probabilities. */
    public static List<Prediction.Label> top(float[] logits, List<String> labels, int k) {
        return ranked(softmax(logits), labels, k);
    }

    /** The top {@code k} classes of probabilities already computed ({@link #softmax}). */
    public static List<Prediction.Label> ranked(float[] probs, List<String> labels, int k) {
        List<Prediction.Label> out = new ArrayList<>();
        for (int i : topK(probs, k)) {
            out.add(label(probs, labels, i));
        }
        return out;
    }

    /** Class {@code i} with its label and its probability in {@code probs}. */
    public static Prediction.Label label(float[] probs, List<String> labels, int i) {
        return new Prediction.Label(i, i < labels.size() ? labels.get(i) : "class " + i, probs[i]);
    }

    /**
     * The hold display policy, as {@code vmf.runtime.scoring.Scorer(hold=...)} and {@code
     * vmf-stream --hold} (docs/runtime.md, "Holding the shown label"): the first clip after a start
     * or a {@link #reset} shows its top-1; after that a clip whose top-1 probability is at least the
     * threshold shows its top-1, and any other keeps the label shown before. A stream's wrong
     * windows mostly score low, so this removes most of the label's flicker. Not thread-safe: one
     * thread shows, as {@link ClipStream}'s inference thread does.
     */
    public static final class Hold {
        private final double threshold;
        private int shown = -1;

        /** {@code threshold} in (0, 1); anything else is refused with one message. */
        public Hold(double threshold) {
            if (!(threshold > 0 && threshold < 1)) { // NaN fails this too
                throw new IllegalArgumentException("hold must be a score in (0, 1), got " + threshold);
            }
            this.threshold = threshold;
        }

        public double threshold() {
            return threshold;
        }

        /** The class to show after a clip with {@code probs} whose top-1 is {@code best}. */
        public int show(float[] probs, int best) {
            if (shown < 0 || probs[best] >= threshold) {
                shown = best;
            }
            return shown;
        }

        /** Forgets the shown label: the next clip is shown as it is (a new scene). */
        public void reset() {
            shown = -1;
        }
    }
}
