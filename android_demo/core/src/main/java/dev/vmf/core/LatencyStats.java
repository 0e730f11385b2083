package dev.vmf.core;

import java.util.Arrays;

/**
 * Inference latency over a sliding window of the most recent runs: last, median (and any
 * percentile, linear between ranks as numpy's default), mean. Percentiles are computed on demand
 * from a sorted copy; the window is small (a few hundred values).
 */
public final class LatencyStats {
    private final double[] window;
    private int size;
    private int next;
    private long count;
    private double last = Double.NaN;

    public LatencyStats(int windowSize) {
        if (windowSize < 1) {
            throw new IllegalArgumentException("window must hold at least one value");
        }
        window = new double[windowSize];
    }

    public void add(double millis) {
        window[next] = millis;
        next = (next + 1) % window.length;
        size = Math.min(size + 1, window.length);
        count++;
        last = millis;
    }

    /** Runs recorded in total (not only those still in the window). */
    public long count() {
        return count;
    }

    /** Values in the window now. */
    public int size() {
        return size;
    }

    public double last() {
        return last;
    }

    public double median() {
        return percentile(50);
    }

    /** The q-th percentile (0..100) of the window; NaN when empty. */
    public double percentile(double q) {
        if (size == 0) {
            return Double.NaN;
        }
        if (q < 0 || q > 100) {
            throw new IllegalArgumentException("percentile must be within 0..100, got " + q);
        }
        double[] sorted = Arrays.copyOf(window, size);
        Arrays.sort(sorted);
        double rank = q / 100.0 * (size - 1);
        int lo = (int) Math.floor(rank);
        int hi = Math.min(lo + 1, size - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    public double mean() {
        if (size == 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (int i = 0; i < size; i++) {
            sum += window[i];
        }
        return sum / size;
    }
}
