package dev.vmf.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScoresTest {

    @Test
    void softmaxAndTop5MatchThePythonRuntime() {
        List<Object> cases = Golden.list(Golden.manifest().get("classify"));
        assertEquals(4, cases.size());
        for (Object spec : cases) {
            Map<String, Object> c = Golden.map(spec);
            float[] logits = Golden.floats((String) c.get("logits"));
            assertEquals(Golden.integer(c.get("classes")), logits.length);
            float[] probs = Scores.softmax(logits);
            assertTrue(Golden.maxAbsDiff(Golden.floats((String) c.get("softmax")), probs) <= 1e-7);

            int k = Golden.integer(c.get("k"));
            int[] expectedTop = Golden.list(c.get("top_indices")).stream().mapToInt(Golden::integer).toArray();
            assertArrayEquals(expectedTop, Scores.topK(probs, k), "top-" + k + " of " + c.get("logits"));
            List<Object> topProbs = Golden.list(c.get("top_probs"));
            for (int i = 0; i < k; i++) {
                assertEquals(((Number) topProbs.get(i)).doubleValue(), probs[expectedTop[i]], 1e-7);
            }
        }
    }

    @Test
    void equalProbabilitiesKeepTheLowerIndexFirstEvenWithALargerLogit() {
        float[] logits = new float[10];
        Arrays.fill(logits, -10f);
        logits[7] = 1e-8f; // larger logit, but the same float32 probability as class 3
        logits[3] = 0f;
        float[] probs = Scores.softmax(logits);
        assertEquals(probs[3], probs[7]);
        assertArrayEquals(new int[] {3, 7}, Scores.topK(probs, 2));
    }

    @Test
    void tiesKeepIndexOrderAndKIsCapped() {
        float[] scores = {1f, 3f, 2f, 3f, -1f};
        assertArrayEquals(new int[] {1, 3, 2}, Scores.topK(scores, 3));
        assertArrayEquals(new int[] {1, 3, 2, 0, 4}, Scores.topK(scores, 10));
        assertArrayEquals(new int[] {}, Scores.topK(scores, 0));
    }

    @Test
    void softmaxDoesNotOverflowOnLargeLogits() {
        float[] p = Scores.softmax(new float[] {1000f, 1000f, -1000f});
        assertArrayEquals(new float[] {0.5f, 0.5f, 0f}, p, 1e-7f);
    }

    @Test
    void topNamesTheLabels() {
        List<Prediction.Label> top = Scores.top(new float[] {0f, 2f, 1f}, Arrays.asList("a", "b", "c"), 2);
        assertEquals("b", top.get(0).name);
        assertEquals(1, top.get(0).index);
        assertEquals("c", top.get(1).name);
        assertTrue(top.get(0).probability > top.get(1).probability);
    }

    @Test
    void holdKeepsTheShownClassUntilATop1ReachesTheThreshold() {
        Scores.Hold hold = new Scores.Hold(0.5);
        assertEquals(1, hold.show(new float[] {0.3f, 0.4f, 0.3f}, 1), "the first is shown, however unsure");
        assertEquals(1, hold.show(new float[] {0.45f, 0.3f, 0.25f}, 0), "an unsure top-1 keeps class 1");
        assertEquals(1, hold.show(new float[] {0.25f, 0.35f, 0.4f}, 2));
        assertEquals(2, hold.show(new float[] {0.25f, 0.25f, 0.5f}, 2), "the threshold itself switches");
        assertEquals(0, hold.show(new float[] {0.8f, 0.1f, 0.1f}, 0), "a confident top-1 switches");
        hold.reset();
        assertEquals(2, hold.show(new float[] {0.3f, 0.3f, 0.4f}, 2), "after a reset: shown as it is");
        assertEquals(0.5, hold.threshold());
    }

    @Test
    void holdOutsideZeroToOneIsRefused() {
        for (double bad : new double[] {0, 1, 1.5, -0.2, Double.NaN}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Scores.Hold(bad));
            assertEquals("hold must be a score in (0, 1), got " + bad, e.getMessage());
        }
    }
}
