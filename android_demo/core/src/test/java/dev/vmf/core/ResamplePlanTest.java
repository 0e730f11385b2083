package dev.vmf.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ResamplePlanTest {

    @Test
    void scaledSideRoundsHalfToEvenAsPython() {
        // 61 * (24 / 48) = 30.5: Python's round() gives 30; Math.round would give 31 and shift the crop
        assertEquals(30, ResamplePlan.scaledSide(61, 24.0 / 48, 24));
        assertEquals(32, ResamplePlan.scaledSide(63, 0.5, 24)); // 31.5 -> 32 (even)
        assertEquals(24, ResamplePlan.scaledSide(40, 0.5, 24)); // never below the resolution
    }

    @Test
    void downscaleByTwoSamplesBetweenPixelPairs() {
        // 8x8 -> 4x4: s = (y + 0.5) * 2 - 0.5 = 2y + 0.5, so rows (2y, 2y+1) weighted 0.5 each
        ResamplePlan p = ResamplePlan.of(8, 8, 4);
        assertArrayEquals(new int[] {0, 2, 4, 6}, p.rows0);
        assertArrayEquals(new int[] {1, 3, 5, 7}, p.rows1);
        assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f, 0.5f}, p.rowWeights);
    }

    @Test
    void centreCropSkipsTheLongSidesMargins() {
        // 4 x 8 at resolution 4: the short side already fits, columns 2..5 are kept exactly
        ResamplePlan p = ResamplePlan.of(4, 8, 4);
        assertArrayEquals(new int[] {2, 3, 4, 5}, p.cols0);
        assertArrayEquals(new float[] {0f, 0f, 0f, 0f}, p.colWeights);
        assertArrayEquals(new int[] {0, 1, 2, 3}, p.rows0);
    }

    @Test
    void upscaleClampsAtTheBorders() {
        // 2 -> 4: s = (y + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped to [0, 1]
        ResamplePlan p = ResamplePlan.of(2, 2, 4);
        assertArrayEquals(new int[] {0, 0, 0, 1}, p.rows0);
        assertArrayEquals(new int[] {1, 1, 1, 1}, p.rows1);
        assertArrayEquals(new float[] {0f, 0.25f, 0.75f, 0f}, p.rowWeights);
    }
}
