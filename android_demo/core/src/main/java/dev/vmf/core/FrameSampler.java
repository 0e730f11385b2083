package dev.vmf.core;

/**
 * Keeps camera frames at the rate the model's clips were sampled at ({@code sample_fps} in the
 * card), by the rule every vmf runtime and the training sampler share (docs/training.md,
 * "Clips"): the first frame is kept and sets the due time; a frame is kept when its timestamp
 * reaches the due time (within a microsecond); each kept frame moves the due time on by one
 * period from the due time, not from the frame, so the kept rate matches the target over any
 * long run without drifting; after a stall (the due time already passed) the grid restarts one
 * period after the frame instead of bursting. With no rate, every frame is kept.
 *
 * <p>The arithmetic is in double seconds, step for step as {@code vmf.contract.sampling
 * .TemporalSampler} does it, so the phone keeps exactly the frames Python keeps for the same
 * timestamps (checked against golden cases the Python side writes).
 */
public final class FrameSampler {
    /** Timestamps this close to the due time count as on time (float rounding of i / fps). */
    private static final double TOLERANCE_S = 1e-6;

    private final double periodS;
    private double dueS;
    private boolean started;

    /** {@code fps == null}: keep every frame. */
    public FrameSampler(Double fps) {
        if (fps != null && !(fps > 0)) {
            throw new IllegalArgumentException("sample rate must be positive, got " + fps);
        }
        periodS = fps == null ? 0.0 : 1.0 / fps;
    }

    /** Whether to keep the frame captured at {@code timestampNanos} (non-decreasing). */
    public boolean accept(long timestampNanos) {
        return acceptSeconds(timestampNanos / 1e9);
    }

    /** {@link #accept(long)} for a timestamp in seconds. */
    public boolean acceptSeconds(double timestampS) {
        if (periodS == 0.0) {
            return true;
        }
        if (!started) {
            started = true;
            dueS = timestampS;
        }
        if (timestampS + TOLERANCE_S < dueS) {
            return false;
        }
        dueS += periodS;
        if (dueS <= timestampS) { // a long stall: restart the grid instead of bursting
            dueS = timestampS + periodS;
        }
        return true;
    }

    public void reset() {
        started = false;
    }
}
