package dev.vmf.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
