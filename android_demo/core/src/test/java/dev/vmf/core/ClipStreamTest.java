package dev.vmf.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClipStreamTest {
    private static final int FRAMES = 4;
    private static final long FRAME_NS = 33_333_333L;

    /** A 4-frame, 2x2 THWC card with mean 0 and std 1, so a slot holds value / 255. */
    private static ModelCard card(String sampleFps) throws ModelCardException {
        return ModelCard.parse("{\"sidecar_version\": 1, \"variant\": \"560M\", \"baseline\": false, \"frames\": " + FRAMES
                + ", \"resolution\": 2, \"temporal_stride\": 8, \"input_name\": \"clip\","
                + " \"input_layout\": \"THWC\", \"input_shape\": [" + FRAMES + ", 2, 2, 3],"
                + " \"mean\": [0, 0, 0], \"std\": [1, 1, 1], \"color\": \"RGB\","
                + " \"labels\": [\"walking\", \"running\", \"jumping\"], \"output\": \"logits\","
                + " \"precision\": \"fp32\", \"converter\": \"test\", \"weights_sha256\": null,"
                + " \"untrained\": true, \"parity\": {}, \"macs\": 1, \"params\": 1, \"versions\": {},"
                + " \"sample_fps\": " + sampleFps + "}", "test card");
    }

    /** A 3x5 frame whose every byte is {@code value}. */
    private static PixelSource flat(int value) {
        byte[] data = new byte[3 * 5 * 3];
        Arrays.fill(data, (byte) value);
        return new BgrImage(data, 3, 5);
    }

    /** Records what each run saw; runs only when the test says so. */
    private static final class Harness implements ClipStream.ClipRunner, ClipStream.Listener {
        final List<Runnable> queued = new ArrayList<>();
        final List<float[]> clipsSeen = new ArrayList<>();
        final List<Prediction> predictions = new ArrayList<>();
        final List<Exception> errors = new ArrayList<>();
        RuntimeException failNext;

        @Override
        public void run(java.nio.ByteBuffer clip, float[] logits) {
            if (failNext != null) {
                RuntimeException e = failNext;
                failNext = null;
                throw e;
            }
            FloatBuffer floats = clip.asFloatBuffer();
            float[] firstValues = new float[FRAMES]; // the first value of each frame's slot
            for (int t = 0; t < FRAMES; t++) {
                firstValues[t] = Math.round(floats.get(t * 12) * 255);
            }
            clipsSeen.add(firstValues);
            logits[0] = 0f;
            logits[1] = 2f;
            logits[2] = 1f;
        }

        @Override
        public void onPrediction(Prediction prediction) {
            predictions.add(prediction);
        }

        @Override
        public void onError(Exception error) {
            errors.add(error);
        }

        void runQueued() {
            List<Runnable> now = new ArrayList<>(queued);
            queued.clear();
            now.forEach(Runnable::run);
        }
    }

    @Test
    void firstRunWhenTheClipIsFullThenEveryHopFrames() throws Exception {
        Harness h = new Harness();
        ClipStream stream = new ClipStream(card("null"), 2, h, h.queued::add, h);
        for (int n = 0; n < FRAMES - 1; n++) {
            assertTrue(stream.offer(flat(n), n * FRAME_NS));
        }
        assertTrue(h.queued.isEmpty(), "no run before the clip holds T frames");
        stream.offer(flat(3), 3 * FRAME_NS);
        assertEquals(1, h.queued.size());
        h.runQueued();
        stream.offer(flat(4), 4 * FRAME_NS);
        assertTrue(h.queued.isEmpty(), "hop 2: nothing after one more frame");
        stream.offer(flat(5), 5 * FRAME_NS);
        h.runQueued();
        assertEquals(2, h.clipsSeen.size());
        assertArrayEquals(new float[] {0, 1, 2, 3}, h.clipsSeen.get(0)); // oldest first
        assertArrayEquals(new float[] {2, 3, 4, 5}, h.clipsSeen.get(1));
        Prediction p = h.predictions.get(1);
        assertEquals(6, p.frame);
        assertEquals(2, p.runs);
        assertEquals(Arrays.asList("running", "jumping", "walking"),
                Arrays.asList(p.top.get(0).name, p.top.get(1).name, p.top.get(2).name));
        assertEquals(Math.exp(2) / (1 + Math.exp(1) + Math.exp(2)), p.top.get(0).probability, 1e-7);
    }

    @Test
    void aBusyRunDefersTheNextAndCountsTheWait() throws Exception {
        Harness h = new Harness();
        ClipStream stream = new ClipStream(card("null"), 1, h, h.queued::add, h);
        for (int n = 0; n < FRAMES; n++) {
            stream.offer(flat(n), n * FRAME_NS);
        }
        assertEquals(1, h.queued.size());
        stream.offer(flat(4), 4 * FRAME_NS); // due (hop 1) but the first run has not finished
        stream.offer(flat(5), 5 * FRAME_NS);
        assertEquals(1, h.queued.size(), "no second run while one is in flight");
        h.runQueued();
        assertArrayEquals(new float[] {0, 1, 2, 3}, h.clipsSeen.get(0), "the clip was copied at hand-off");
        stream.offer(flat(6), 6 * FRAME_NS);
        h.runQueued();
        assertArrayEquals(new float[] {3, 4, 5, 6}, h.clipsSeen.get(1));
        assertEquals(2, h.predictions.get(1).lateFrames);
        assertTrue(h.predictions.get(1).describe("GPU").contains("busy at 2 due frames"));
    }

    @Test
    void aFailingRunReachesTheListenerAndTheStreamGoesOn() throws Exception {
        Harness h = new Harness();
        ClipStream stream = new ClipStream(card("null"), 1, h, h.queued::add, h);
        h.failNext = new IllegalStateException("delegate lost");
        for (int n = 0; n < FRAMES; n++) {
            stream.offer(flat(n), n * FRAME_NS);
        }
        h.runQueued();
        assertEquals("delegate lost", h.errors.get(0).getMessage());
        stream.offer(flat(4), 4 * FRAME_NS);
        h.runQueued();
        assertEquals(1, h.predictions.size());
    }

    @Test
    void framesAreKeptAtTheCardsSampleRate() throws Exception {
        Harness h = new Harness();
        ClipStream stream = new ClipStream(card("10"), 1, h, h.queued::add, h);
        int kept = 0;
        for (int n = 0; n < 12; n++) { // 30 fps camera, 10 fps clip: every third frame
            if (stream.offer(flat(n), n * FRAME_NS)) {
                kept++;
            }
        }
        assertEquals(4, kept);
        h.runQueued();
        assertArrayEquals(new float[] {0, 3, 6, 9}, h.clipsSeen.get(0));
    }

    @Test
    void resetWaitsForAFreshClip() throws Exception {
        Harness h = new Harness();
        ClipStream stream = new ClipStream(card("null"), 1, h, h.queued::add, h);
        for (int n = 0; n < FRAMES; n++) {
            stream.offer(flat(n), n * FRAME_NS);
        }
        h.runQueued();
        stream.reset();
        for (int n = 10; n < 10 + FRAMES - 1; n++) {
            stream.offer(flat(n), n * FRAME_NS);
        }
        assertTrue(h.queued.isEmpty());
        stream.offer(flat(13), 13 * FRAME_NS);
        h.runQueued();
        assertArrayEquals(new float[] {10, 11, 12, 13}, h.clipsSeen.get(1));
    }

    @Test
    void backToBackRunsTheRunnerOnAFixedClipOfItsOwnAndLeavesAWaitingClipAlone() throws Exception {
        Harness h = new Harness();
        List<java.nio.ByteBuffer> buffers = new ArrayList<>();
        List<float[]> benchClips = new ArrayList<>();
        boolean[] measuring = {false};
        ClipStream.ClipRunner runner = (clip, logits) -> {
            if (!measuring[0]) { // the stream's own run
                h.run(clip, logits);
                return;
            }
            assertEquals(0, clip.position(), "each run reads the clip from its start");
            assertEquals(3, logits.length);
            buffers.add(clip);
            float[] values = new float[clip.remaining() / 4];
            clip.asFloatBuffer().get(values);
            benchClips.add(values);
            logits[0] = 9f; // the benchmark's scores are its own, too
        };
        ClipStream stream = new ClipStream(card("null"), 1, runner, h.queued::add, h);
        for (int n = 0; n < FRAMES; n++) {
            stream.offer(flat(n), n * FRAME_NS);
        }
        assertEquals(1, h.queued.size(), "a clip waits for its run");
        measuring[0] = true;
        LatencyStats bench = stream.backToBack(2, 3);
        measuring[0] = false;
        assertEquals(3, bench.count(), "the warm-up runs are not timed");
        assertEquals(5, buffers.size());
        assertTrue(buffers.stream().allMatch(b -> b == buffers.get(0)), "one buffer for every run");
        float[] clip = benchClips.get(4);
        assertEquals(FRAMES * 2 * 2 * 3, clip.length, "the card's whole clip");
        for (int i : new int[] {0, 1, 17, clip.length - 1}) { // the web page's ?bench clip
            assertEquals((float) (2 * Math.sin(i * 0.0007) * Math.cos(i * 0.000013)), clip[i], 0f);
        }
        h.runQueued();
        assertArrayEquals(new float[] {0, 1, 2, 3}, h.clipsSeen.get(0), "the waiting clip is untouched");
        assertEquals("running", h.predictions.get(0).top.get(0).name);
    }

    @Test
    void liveLatencySitsBesideTheBackToBackFigures() throws Exception {
        Harness h = new Harness();
        ClipStream stream = new ClipStream(card("null"), 1, h, h.queued::add, h);
        LatencyStats bench = new LatencyStats(2);
        bench.add(20);
        bench.add(25);
        assertEquals("live vs back to back: no runs yet", stream.versus(bench));
        for (int n = 0; n < FRAMES; n++) {
            stream.offer(flat(n), n * FRAME_NS);
        }
        h.runQueued();
        String line = stream.versus(bench);
        assertTrue(line.matches("live p50 \\d+\\.\\d / p90 \\d+\\.\\d ms vs back to back p50 22\\.5 / p90 24\\.5 ms: "
                + "\\d+\\.\\d\\dx"), line);
    }

    @Test
    void overlayListsTopClassesLatencyAndDelegate() {
        Prediction p = new Prediction(Arrays.asList(new Prediction.Label(7, "juggling balls", 0.4321),
                new Prediction.Label(3, "dancing", 0.25)), 64, 85.04, 90.26, 12, 0);
        String text = p.describe("GPU delegate");
        assertEquals("1. juggling balls  43.2%\n2. dancing  25.0%\n"
                + "inference 85.0 ms, median 90.3 ms (12 runs)\nGPU delegate", text.replace("\r\n", "\n"));
        assertFalse(text.contains("busy"));
    }

    /** Logits whose softmax is {@code probs}. */
    private static float[] logitsOf(double... probs) {
        float[] out = new float[probs.length];
        for (int i = 0; i < probs.length; i++) {
            out[i] = (float) Math.log(probs[i]);
        }
        return out;
    }

    @Test
    void holdKeepsTheShownClassUntilAConfidentClipAndResetForgetsIt() throws Exception {
        // walking confident, running unsure, jumping unsure, jumping confident, walking unsure
        List<float[]> script = new ArrayList<>(Arrays.asList(logitsOf(0.9, 0.05, 0.05), logitsOf(0.3, 0.4, 0.3),
                logitsOf(0.25, 0.35, 0.4), logitsOf(0.1, 0.1, 0.8), logitsOf(0.45, 0.3, 0.25),
                logitsOf(0.3, 0.4, 0.3)));
        Harness h = new Harness();
        ClipStream.ClipRunner runner = (clip, logits) -> System.arraycopy(script.remove(0), 0, logits, 0, 3);
        ClipStream stream = new ClipStream(card("null"), 1, 0.5, runner, h.queued::add, h);
        for (int n = 0; n < FRAMES + 4; n++) {
            stream.offer(flat(n), n * FRAME_NS);
            h.runQueued();
        }
        assertEquals(5, h.predictions.size());
        String[] shown = {"walking", "walking", "walking", "jumping", "jumping"};
        boolean[] held = {false, true, true, false, true};
        String[] top1 = {"walking", "running", "jumping", "jumping", "walking"};
        double[] score = {0.9, 0.3, 0.25, 0.8, 0.25};
        for (int i = 0; i < 5; i++) {
            Prediction p = h.predictions.get(i);
            assertEquals(shown[i], p.shown.name, "prediction " + i);
            assertEquals(held[i], p.held, "prediction " + i);
            assertEquals(top1[i], p.top.get(0).name, "the top classes are the clip's own");
            assertEquals(score[i], p.shown.probability, 1e-6, "the shown class's probability in this clip");
            assertEquals(0.5, p.hold);
        }
        assertTrue(h.predictions.get(1).describe("CPU").startsWith("shown: walking  30.0% (held)\n1. running  40.0%"),
                h.predictions.get(1).describe("CPU"));
        stream.reset();
        for (int n = 20; n < 20 + FRAMES; n++) {
            stream.offer(flat(n), n * FRAME_NS);
        }
        h.runQueued();
        Prediction afterReset = h.predictions.get(5);
        assertEquals("running", afterReset.shown.name, "the first clip after a reset is shown as it is");
        assertFalse(afterReset.held);
    }

    @Test
    void withoutHoldTheShownClassIsTheTop1() throws Exception {
        Harness h = new Harness();
        ClipStream stream = new ClipStream(card("null"), 1, null, h, h.queued::add, h);
        for (int n = 0; n < FRAMES; n++) {
            stream.offer(flat(n), n * FRAME_NS);
        }
        h.runQueued();
        Prediction p = h.predictions.get(0);
        assertTrue(p.shown == p.top.get(0) && !p.held && p.hold == null);
        assertTrue(p.describe("CPU").startsWith("1. running"));
    }

    @Test
    void aHoldOutsideZeroToOneIsRefused() {
        Harness h = new Harness();
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new ClipStream(card("null"), 1, 1.0, h, h.queued::add, h));
        assertEquals("hold must be a score in (0, 1), got 1.0", e.getMessage());
    }
}
