package dev.vmf.core;

import java.util.Collections;
import java.util.List;
import java.util.Locale;

/** One classified clip: the top classes and the latency figures at that moment. Immutable. */
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
    /** Frames the clip ends at (counted since the stream started). */
    public final long frame;
    public final double lastMillis;
    public final double medianMillis;
    public final long runs;
    /** Frames at which a run was due but the previous one was still busy. */
    public final long lateFrames;

    public Prediction(List<Label> top, long frame, double lastMillis, double medianMillis, long runs,
            long lateFrames) {
        this.top = Collections.unmodifiableList(top);
        this.frame = frame;
        this.lastMillis = lastMillis;
        this.medianMillis = medianMillis;
        this.runs = runs;
        this.lateFrames = lateFrames;
    }

    /** The overlay: one line per class, then latency, then which delegate ran. */
    public String describe(String delegate) {
        StringBuilder text = new StringBuilder();
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
