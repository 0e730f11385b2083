package dev.vmf.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FrameSamplerTest {
    private static final long MS = 1_000_000L;

    @Test
    void keepsEveryFrameWithoutARate() {
        FrameSampler s = new FrameSampler(null);
        for (long t = 0; t < 10; t++) {
            assertTrue(s.accept(t * 33 * MS));
        }
    }

    @Test
    void thirtyFpsCameraAtFiveFpsKeepsOneInSixOnAFixedGrid() {
        FrameSampler s = new FrameSampler(5.0);
        int kept = 0;
        for (int i = 0; i < 300; i++) { // 10 s at 30 fps, with +-3 ms of jitter
            long jitter = (i % 3 - 1) * 3 * MS;
            if (s.accept(i * 33_333_333L + jitter)) {
                kept++;
            }
        }
        assertEquals(50, kept, 1); // 5 fps for 10 s
    }

    @Test
    void aStallRestartsTheGridInsteadOfBursting() {
        FrameSampler s = new FrameSampler(10.0);
        assertTrue(s.accept(0));
        assertTrue(s.accept(2000 * MS)); // two seconds later
        assertEquals(false, s.accept(2050 * MS)); // not a burst of the 19 missed slots
        assertTrue(s.accept(2100 * MS));
    }

    @Test
    void keepsTheFramesPythonKeeps() {
        // Cases written by scripts/make_android_golden.py from vmf.contract.sampling: file
        // timestamps i / fps at several rates, and a jittered camera with a stall.
        List<Object> cases = Golden.list(Golden.map(Golden.manifest().get("web")).get("sampler"));
        int checked = 0;
        for (Object c : cases) {
            Map<String, Object> k = Golden.map(c);
            if (k.get("timestamps") != null) {
                FrameSampler s = new FrameSampler(((Number) k.get("sample_fps")).doubleValue());
                List<Object> times = Golden.list(k.get("timestamps"));
                List<Object> keep = Golden.list(k.get("keep"));
                for (int i = 0; i < times.size(); i++) {
                    double t = ((Number) times.get(i)).doubleValue();
                    assertEquals(keep.get(i), s.acceptSeconds(t), "camera frame " + i);
                }
                checked++;
            } else if (k.get("sample_fps") != null && k.get("sample_every") == null) {
                double fps = ((Number) k.get("fps")).doubleValue();
                FrameSampler s = new FrameSampler(((Number) k.get("sample_fps")).doubleValue());
                int n = ((Number) k.get("frames")).intValue();
                List<Integer> kept = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    if (s.acceptSeconds(i / fps)) {
                        kept.add(i);
                    }
                }
                List<Integer> want = new ArrayList<>();
                for (Object o : Golden.list(k.get("kept"))) {
                    want.add(((Number) o).intValue());
                }
                assertEquals(want, kept, "file at " + fps + " fps sampled to " + k.get("sample_fps"));
                checked++;
            }
        }
        assertTrue(checked >= 3, "golden sampler cases found: " + checked);
    }

    @Test
    void refusesNonPositiveRates() {
        assertThrows(IllegalArgumentException.class, () -> new FrameSampler(0.0));
    }
}
