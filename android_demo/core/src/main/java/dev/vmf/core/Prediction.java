package dev.vmf.core;

import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * One classified clip: the top classes, the class a display shows, and the latency figures at that
 * moment. Immutable.
 */
public final class Prediction {

    /** A class index, its label and its softmax probability. */
    public static final class Label {
        public final int index;
        public final String name;
        public final double probability;

        public Label(int index, String name, double probability) {
            this.index = index;
            this.name = name;
            this.probability = probability;
        }
    }

    public final List<Label> top;
    /**
     * The class to show: the top-1, or under a hold policy ({@link Scores.Hold}) the class shown
     * before, with its probability in this clip.
     */
    public final Label shown;
    /** Whether {@link #shown} is held from an earlier clip rather than this clip's top-1. */
    public final boolean held;
    /** The hold policy's threshold; null without one (then {@link #shown} is the top-1). */
    public final Double hold;
    /** Frames the clip ends at (counted since the stream started). */
    public final long frame;
    public final double lastMillis;
    public final double medianMillis;
    public final long runs;
    /** Frames at which a run was due but the previous one was still busy. */
    public final long lateFrames;

    /** A prediction shown as it is: {@link #shown} is the top-1, no hold policy. */
    public Prediction(List<Label> top, long frame, double lastMillis, double medianMillis, long runs,
            long lateFrames) {
        this(top, top.isEmpty() ? null : top.get(0), false, null, frame, lastMillis, medianMillis, runs,
                lateFrames);
    }

    /** A prediction under a hold policy of threshold {@code hold} (null: none). */
    public Prediction(List<Label> top, Label shown, boolean held, Double hold, long frame, double lastMillis,
            double medianMillis, long runs, long lateFrames) {
        this.top = Collections.unmodifiableList(top);
        this.shown = shown;
        this.held = held;
        this.hold = hold;
        this.frame = frame;
        this.lastMillis = lastMillis;
        this.medianMillis = medianMillis;
        this.runs = runs;
        this.lateFrames = lateFrames;
    }

    /**
     * The overlay: under a hold policy the shown class first, then one line per class, then
     * latency, then which delegate ran.
     */
    public String describe(String delegate) {
        StringBuilder text = new StringBuilder();
        if (hold != null && shown != null) {
            text.append(String.format(Locale.ROOT, "shown: %s  %.1f%%%s%n", shown.name, 100 * shown.probability,
                    held ? " (held)" : ""));
        }
        for (int i = 0; i < top.size(); i++) {
            Label label = top.get(i);
            text.append(String.format(Locale.ROOT, "%d. %s  %.1f%%%n", i + 1, label.name,
                    100 * label.probability));
        }
        text.append(String.format(Locale.ROOT, "inference %.1f ms, median %.1f ms (%d runs)%n",
                lastMillis, medianMillis, runs));
        text.append(delegate);
        if (lateFrames > 0) {
            text.append(String.format(Locale.ROOT, "%nbusy at %d due frames: the device is slower "
                    + "than the hop", lateFrames));
        }
        return text.toString();
    }
}
