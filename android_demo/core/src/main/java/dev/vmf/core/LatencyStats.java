package dev.vmf.core;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Inference latency over a sliding window of the most recent runs: last, median (and any
 * percentile, linear between ranks as numpy's default), mean. Percentiles are computed on demand
 * from a sorted copy; the window is small (a few hundred values).
 *
 * <p>A live stream's figures are <em>paced</em>: one run per hop (267 ms at hop 8 and 30 fps)
 * with the device idle in between, so its thread pools park and its cores clock down, and a run
 * often takes longer than the back-to-back figure {@code vmf-bench} reports
 * (docs/performance.md, "Paced runs"). {@link #backToBack} measures that figure on the device
 * and {@link #versus} puts the two side by side.
 */
public final class LatencyStats {

    /** One call to time: the model on one clip. */
    @FunctionalInterface
    public interface Call {
        void run() throws Exception;
    }

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

    public double p90() {
        return percentile(90);
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

    /**
     * Back-to-back latency: {@code warmup} untimed calls, then {@code runs} timed calls one right
     * after the other, as {@code vmf-bench} times a model. Call it on the thread that runs the
     * model, while no clip is in flight (an interpreter runs one call at a time).
     */
    public static LatencyStats backToBack(Call call, int warmup, int runs) throws Exception {
        return backToBack(call, warmup, runs, System::nanoTime);
    }

    /** {@link #backToBack(Call, int, int)} on the given nanosecond clock (tests use a fake). */
    static LatencyStats backToBack(Call call, int warmup, int runs, LongSupplier nanoClock)
            throws Exception {
        if (warmup < 0) {
            throw new IllegalArgumentException("warmup must be >= 0, got " + warmup);
        }
        if (runs < 1) {
            throw new IllegalArgumentException("runs must be >= 1, got " + runs);
        }
        for (int i = 0; i < warmup; i++) {
            call.run();
        }
        LatencyStats stats = new LatencyStats(runs);
        for (int i = 0; i < runs; i++) {
            long start = nanoClock.getAsLong();
            call.run();
            stats.add((nanoClock.getAsLong() - start) / 1e6);
        }
        return stats;
    }

    /**
     * These (a live stream's, paced) figures beside back-to-back ones, in one line: {@code "live
     * p50 43.0 / p90 47.0 ms vs back to back p50 23.0 / p90 25.0 ms: 1.87x"}, the ratio of the
     * medians as {@code vmf-bench --paced} reports it.
     */
    public String versus(LatencyStats backToBack) {
        if (size == 0 || backToBack.size == 0) {
            return "live vs back to back: no runs yet";
        }
        return String.format(Locale.ROOT,
                "live p50 %.1f / p90 %.1f ms vs back to back p50 %.1f / p90 %.1f ms: %.2fx",
                median(), p90(), backToBack.median(), backToBack.p90(),
                median() / backToBack.median());
    }
}
