package dev.vmf.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    void refusesNonPositiveRates() {
        assertThrows(IllegalArgumentException.class, () -> new FrameSampler(0.0));
    }
}
