package dev.vmf.core;

/**
 * Keeps camera frames at the rate the model's clips were sampled at ({@code sample_fps} in the
 * card), on a fixed time grid so the kept rate averages exactly that rate whatever the camera's
 * rate (the TF video-classification example gates its camera the same way). A frame up to half a
 * camera interval early counts as on time: at 30 fps, a frame 1 ns before its slot would
 * otherwise be dropped for the next one and the spacing would wobble. With no rate, every frame
 * is kept.
 */
public final class FrameSampler {
    private final long periodNanos;
    private long nextDue;
    private long previous;
    private boolean started;

    /** {@code fps == null}: keep every frame. */
    public FrameSampler(Double fps) {
        if (fps != null && !(fps > 0)) {
            throw new IllegalArgumentException("sample rate must be positive, got " + fps);
        }
        periodNanos = fps == null ? 0 : Math.round(1e9 / fps);
    }

    /** Whether to keep the frame captured at {@code timestampNanos} (non-decreasing). */
    public boolean accept(long timestampNanos) {
        if (periodNanos == 0) {
            return true;
        }
        if (!started) {
            started = true;
            previous = timestampNanos;
            nextDue = timestampNanos + periodNanos;
            return true;
        }
        long slack = Math.min(Math.max(timestampNanos - previous, 0) / 2, periodNanos / 2);
        previous = timestampNanos;
        if (timestampNanos < nextDue - slack) {
            return false;
        }
        nextDue += periodNanos;
        if (nextDue <= timestampNanos) { // a long stall: restart the grid instead of bursting
            nextDue = timestampNanos + periodNanos;
        }
        return true;
    }

    public void reset() {
        started = false;
    }
}
