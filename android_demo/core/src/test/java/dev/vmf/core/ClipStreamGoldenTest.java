package dev.vmf.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * End to end against {@code vmf.runtime}: the fixture sidecar (from vmf-export) drives both
 * sides; the same frames go into the runtime's ClipAssembler and into this ClipStream, and the
 * clip the runner receives must be the clip the Python runtime would classify.
 */
class ClipStreamGoldenTest {

    @Test
    void theRunnerGetsThePythonRuntimesClip() throws Exception {
        Map<String, Object> golden = Golden.map(Golden.manifest().get("stream"));
        Map<String, Object> sidecar = Golden.map(Golden.manifest().get("sidecar"));
        ModelCard card = ModelCard.parse(Golden.text((String) sidecar.get("file")), "sidecar.json");
        List<float[]> clips = new ArrayList<>();
        List<Long> runAfter = new ArrayList<>();
        List<Runnable> queued = new ArrayList<>();
        ClipStream.Listener listener = new ClipStream.Listener() {
            @Override
            public void onPrediction(Prediction prediction) {
                runAfter.add(prediction.frame);
            }

            @Override
            public void onError(Exception error) {
                throw new AssertionError(error);
            }
        };
        ClipStream stream = new ClipStream(card, Golden.integer(golden.get("hop")), (clip, logits) -> {
            FloatBuffer floats = clip.asFloatBuffer();
            float[] copy = new float[floats.remaining()];
            floats.get(copy);
            clips.add(copy);
        }, queued::add, listener);

        Map<String, Object> frames = Golden.map(Golden.manifest().get("frames"));
        long t = 0;
        for (Object name : Golden.list(golden.get("frames_in"))) {
            Map<String, Object> f = Golden.map(frames.get(name));
            stream.offer(new BgrImage(Golden.bytes((String) f.get("file")), Golden.integer(f.get("height")),
                    Golden.integer(f.get("width"))), t += 33_333_333L);
            queued.forEach(Runnable::run); // an idle inference thread: each run before the next frame
            queued.clear();
        }

        List<Object> dueAfter = Golden.list(golden.get("due_after"));
        assertEquals(dueAfter.size(), runAfter.size());
        for (int i = 0; i < dueAfter.size(); i++) {
            assertEquals(Golden.integer(dueAfter.get(i)), runAfter.get(i).intValue(), "run " + i);
        }
        float[] clip = clips.get(clips.size() - 1);
        assertEquals(Golden.integer(golden.get("values")), clip.length);

        int every = Golden.integer(golden.get("sample_every"));
        float[] expected = Golden.floats((String) golden.get("sample"));
        float[] sample = new float[expected.length];
        for (int i = 0; i < sample.length; i++) {
            sample[i] = clip[i * every];
        }
        double diff = Golden.maxAbsDiff(expected, sample);
        assertTrue(diff <= 1e-5, "max abs difference " + diff);

        List<Object> sums = Golden.list(golden.get("frame_sums"));
        int slot = clip.length / card.frames();
        for (int f = 0; f < card.frames(); f++) {
            double sum = 0;
            for (int i = f * slot; i < (f + 1) * slot; i++) {
                sum += clip[i];
            }
            double want = ((Number) sums.get(f)).doubleValue();
            assertEquals(want, sum, 1e-6 * Math.max(1, Math.abs(want)), "sum of frame " + f);
        }
    }
}
