package dev.vmf.core;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Camera frames in, predictions out: the loop the app runs, without any Android type in it.
 *
 * <p>{@link #offer} runs on the camera's analysis thread: it keeps frames at the card's rate,
 * preprocesses each kept frame once into the clip ring and, every {@code hop} frames once the clip
 * is full, copies the clip into the model's input buffer and hands the run to {@code
 * inferenceExecutor} (a single background thread). The copy is made only while no run is in
 * flight, so the runner never reads a buffer being written; when a run is due but the previous
 * one is still going, the next frame tries again and the wait is counted ({@link
 * Prediction#lateFrames}), so a slow device shows it on screen instead of queueing work. With a
 * hold threshold ({@link Scores.Hold}) each prediction's {@link Prediction#shown} class is held
 * until a clip's top-1 scores at least the threshold; {@link #reset} forgets it.
 */
public final class ClipStream {

    /** Runs the model on one clip; {@code clip} is positioned at 0, {@code logits} to be filled. */
    public interface ClipRunner {
        void run(ByteBuffer clip, float[] logits) throws Exception;
    }

    /** Receives results on the inference thread (post to the UI thread from there). */
    public interface Listener {
        void onPrediction(Prediction prediction);

        void onError(Exception error);
    }

    public static final int TOP_K = 5;
    private static final int LATENCY_WINDOW = 100;

    private final ModelCard card;
    private final int hop;
    private final Scores.Hold hold; // null: every prediction shows its top-1; inference thread only
    private final ClipRunner runner;
    private final Executor inferenceExecutor;
    private final Listener listener;
    private final FrameSampler sampler;
    private final FramePreprocessor preprocessor;
    private final ClipBuffer clip;
    private final float[] slot;
    private final ByteBuffer input;
    private final FloatBuffer inputFloats;
    private final float[] logits;
    private final LatencyStats latency = new LatencyStats(LATENCY_WINDOW);
    private final AtomicBoolean busy = new AtomicBoolean(false);
    private int sinceLastRun;
    private long frames;
    private long resets; // analysis thread: each run carries the count it was handed off under
    private long holdResets; // inference thread: the count the held class belongs to
    private volatile long lateFrames;

    public ClipStream(ModelCard card, int hop, ClipRunner runner, Executor inferenceExecutor,
            Listener listener) {
        this(card, hop, null, runner, inferenceExecutor, listener);
    }

    /**
     * A stream whose predictions hold the shown class until a clip's top-1 scores at least {@code
     * hold}, in (0, 1); null shows every top-1 (docs/runtime.md, "Holding the shown label").
     */
    public ClipStream(ModelCard card, int hop, Double hold, ClipRunner runner, Executor inferenceExecutor,
            Listener listener) {
        if (hop < 1) {
            throw new IllegalArgumentException("hop must be at least 1 frame, got " + hop);
        }
        this.hold = hold == null ? null : new Scores.Hold(hold);
        this.card = card;
        this.hop = hop;
        this.runner = runner;
        this.inferenceExecutor = inferenceExecutor;
        this.listener = listener;
        sampler = new FrameSampler(card.sampleFps());
        preprocessor = FramePreprocessor.forCard(card);
        clip = new ClipBuffer(card.frames(), preprocessor.slotSize());
        slot = new float[preprocessor.slotSize()];
        input = ByteBuffer.allocateDirect(4 * card.frames() * preprocessor.slotSize())
                .order(ByteOrder.nativeOrder());
        inputFloats = input.asFloatBuffer();
        logits = new float[card.labels().size()];
    }

    /**
     * Offers one camera frame, already turned upright (see {@link PixelSource#rotated}).
     * Returns whether it was kept for the clip.
     */
    public boolean offer(PixelSource frame, long timestampNanos) {
        if (!sampler.accept(timestampNanos)) {
            return false;
        }
        preprocessor.process(frame, slot);
        clip.push(slot);
        frames++;
        sinceLastRun++;
        if (clip.isFull() && sinceLastRun >= hop) {
            if (busy.compareAndSet(false, true)) {
                sinceLastRun = 0;
                ((Buffer) inputFloats).clear();
                clip.copyTo(inputFloats);
                final long endFrame = frames;
                final long runResets = resets;
                inferenceExecutor.execute(() -> infer(endFrame, runResets));
            } else {
                lateFrames++;
            }
        }
        return true;
    }

    /**
     * Starts a new clip (camera switched, app resumed): the next run waits for T fresh frames, and
     * its prediction is shown as it is (a held class is forgotten). Call it on the thread that
     * offers frames.
     */
    public void reset() {
        clip.reset();
        sampler.reset();
        sinceLastRun = 0;
        resets++;
    }

    public int hop() {
        return hop;
    }

    /**
     * The stream's runner timed back to back ({@link LatencyStats#backToBack}) on a fixed clip,
     * the one the web page's {@code ?bench} runs (web_demo/app/infer-worker.js), in a buffer of
     * its own: the stream's input buffer may hold a clip waiting for its run. Call it on the
     * inference thread, where the stream's runs go, so it never overlaps one; a clip that comes
     * due meanwhile waits behind it, and the hops after that one count as late frames.
     */
    public LatencyStats backToBack(int warmup, int runs) throws Exception {
        ByteBuffer fixed = ByteBuffer.allocateDirect(input.capacity()).order(ByteOrder.nativeOrder());
        FloatBuffer values = fixed.asFloatBuffer();
        for (int i = 0; i < values.capacity(); i++) {
            values.put(i, (float) (2 * Math.sin(i * 0.0007) * Math.cos(i * 0.000013)));
        }
        float[] scores = new float[logits.length];
        return LatencyStats.backToBack(() -> {
            ((Buffer) fixed).rewind();
            runner.run(fixed, scores);
        }, warmup, runs);
    }

    /**
     * The stream's live (paced) latency beside {@code backToBack}'s, in one line ({@link
     * LatencyStats#versus}). Call it on the inference thread, where the live figures are updated:
     * from {@link Listener#onPrediction}.
     */
    public String versus(LatencyStats backToBack) {
        return latency.versus(backToBack);
    }

    public ModelCard card() {
        return card;
    }

    private void infer(long endFrame, long runResets) {
        try {
            ((Buffer) input).rewind();
            long start = System.nanoTime();
            runner.run(input, logits);
            double millis = (System.nanoTime() - start) / 1e6;
            latency.add(millis);
            float[] probs = Scores.softmax(logits);
            List<Prediction.Label> top = Scores.ranked(probs, card.labels(), TOP_K);
            Prediction.Label shown = top.get(0);
            boolean held = false;
            if (hold != null) {
                if (runResets != holdResets) { // the first clip after a reset: nothing held
                    hold.reset();
                    holdResets = runResets;
                }
                int index = hold.show(probs, shown.index);
                held = index != shown.index;
                shown = Scores.label(probs, card.labels(), index);
            }
            listener.onPrediction(new Prediction(top, shown, held, hold == null ? null : hold.threshold(),
                    endFrame, latency.last(), latency.median(), latency.count(), lateFrames));
        } catch (Exception e) {
            listener.onError(e);
        } finally {
            busy.set(false);
        }
    }
}
