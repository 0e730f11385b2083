package dev.vmf.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class LatencyStatsTest {

    @Test
    void medianAndPercentilesInterpolateAsNumpy() {
        LatencyStats s = new LatencyStats(10);
        assertTrue(Double.isNaN(s.median()));
        for (double v : new double[] {40, 10, 30, 20}) {
            s.add(v);
        }
        assertEquals(25.0, s.median(), 1e-12);          // np.median([40, 10, 30, 20])
        assertEquals(37.0, s.percentile(90), 1e-12);    // np.percentile(..., 90)
        assertEquals(25.0, s.mean(), 1e-12);
        assertEquals(20.0, s.last(), 0.0);
        s.add(100);
        assertEquals(30.0, s.median(), 1e-12);           // odd count: the middle value
    }

    @Test
    void slidingWindowForgetsTheOldestButCountsAll() {
        LatencyStats s = new LatencyStats(3);
        for (double v : new double[] {1000, 1000, 5, 6, 7}) {
            s.add(v);
        }
        assertEquals(3, s.size());
        assertEquals(5, s.count());
        assertEquals(6.0, s.median(), 1e-12);
        assertEquals(7.0, s.percentile(100), 1e-12);
        assertEquals(5.0, s.percentile(0), 1e-12);
    }

    /** A nanosecond clock that only the timed calls move. */
    private static final class FakeClock {
        long now;
        int calls;
    }

    @Test
    void backToBackTimesOnlyTheRunsAfterTheWarmup() throws Exception {
        FakeClock clock = new FakeClock();
        double[] millis = {500, 500, 10, 20, 30, 40};  // two slow first calls, untimed
        LatencyStats s = LatencyStats.backToBack(
                () -> clock.now += (long) (millis[clock.calls++] * 1e6), 2, 4, () -> clock.now);
        assertEquals(6, clock.calls);
        assertEquals(4, s.count());
        assertEquals(25.0, s.median(), 1e-9);            // np.median([10, 20, 30, 40])
        assertEquals(37.0, s.p90(), 1e-9);               // np.percentile(..., 90)
        assertEquals(40.0, s.last(), 1e-9);
    }

    @Test
    void backToBackRefusesBadCountsAndPassesTheModelsErrorOn() {
        assertThrows(IllegalArgumentException.class, () -> LatencyStats.backToBack(() -> { }, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> LatencyStats.backToBack(() -> { }, -1, 3));
        IOException failure = new IOException("interpreter closed");
        IOException thrown = assertThrows(IOException.class, () -> LatencyStats.backToBack(() -> {
            throw failure;
        }, 0, 3));
        assertSame(failure, thrown);
    }

    @Test
    void liveFiguresSitBesideTheBackToBackOnes() {
        LatencyStats live = new LatencyStats(10);
        LatencyStats bench = new LatencyStats(10);
        assertEquals("live vs back to back: no runs yet", live.versus(bench));
        for (double v : new double[] {40, 50}) {
            live.add(v);
        }
        for (double v : new double[] {20, 25}) {
            bench.add(v);
        }
        assertEquals("live p50 45.0 / p90 49.0 ms vs back to back p50 22.5 / p90 24.5 ms: 2.00x",
                live.versus(bench));
    }
}
