package dev.vmf.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

class ClipBufferTest {
    private static final int FRAMES = 4;
    private static final int SLOT = 3;

    /** Slot for frame number n: n, n + 0.25, n + 0.5. */
    private static float[] frame(int n) {
        return new float[] {n, n + 0.25f, n + 0.5f};
    }

    private static float[] clipOf(int... frameNumbers) {
        float[] out = new float[frameNumbers.length * SLOT];
        for (int i = 0; i < frameNumbers.length; i++) {
            System.arraycopy(frame(frameNumbers[i]), 0, out, i * SLOT, SLOT);
        }
        return out;
    }

    private static float[] read(ClipBuffer clip) {
        FloatBuffer dst = FloatBuffer.allocate(FRAMES * SLOT);
        clip.copyTo(dst);
        assertEquals(FRAMES * SLOT, dst.position(), "copyTo advances the destination by one clip");
        return dst.array();
    }

    @Test
    void handsOutNothingUntilFull() {
        ClipBuffer clip = new ClipBuffer(FRAMES, SLOT);
        for (int n = 0; n < FRAMES - 1; n++) {
            clip.push(frame(n));
        }
        assertFalse(clip.isFull());
        assertThrows(IllegalStateException.class, () -> clip.copyTo(FloatBuffer.allocate(FRAMES * SLOT)));
        clip.push(frame(3));
        assertTrue(clip.isFull());
        assertArrayEquals(clipOf(0, 1, 2, 3), read(clip));
    }

    @Test
    void wrapsAroundKeepingTheLastFramesOldestFirst() {
        ClipBuffer clip = new ClipBuffer(FRAMES, SLOT);
        for (int n = 0; n < 6; n++) { // 6 = T + 2: the ring's write position is mid-buffer
            clip.push(frame(n));
        }
        assertArrayEquals(clipOf(2, 3, 4, 5), read(clip));
        for (int n = 6; n < 11; n++) { // more than a full lap
            clip.push(frame(n));
        }
        assertArrayEquals(clipOf(7, 8, 9, 10), read(clip));
        assertEquals(11, clip.pushed());
    }

    @Test
    void copiesAtTheDestinationPosition() {
        ClipBuffer clip = new ClipBuffer(FRAMES, SLOT);
        for (int n = 0; n < 5; n++) {
            clip.push(frame(n));
        }
        FloatBuffer dst = FloatBuffer.allocate(2 + FRAMES * SLOT);
        dst.put(-1f).put(-1f);
        clip.copyTo(dst);
        float[] expected = new float[2 + FRAMES * SLOT];
        expected[0] = -1f;
        expected[1] = -1f;
        System.arraycopy(clipOf(1, 2, 3, 4), 0, expected, 2, FRAMES * SLOT);
        assertArrayEquals(expected, dst.array());
    }

    @Test
    void resetStartsAFreshClip() {
        ClipBuffer clip = new ClipBuffer(FRAMES, SLOT);
        for (int n = 0; n < 7; n++) {
            clip.push(frame(n));
        }
        clip.reset();
        assertFalse(clip.isFull());
        for (int n = 20; n < 24; n++) {
            clip.push(frame(n));
        }
        assertArrayEquals(clipOf(20, 21, 22, 23), read(clip));
    }

    @Test
    void refusesShortSlots() {
        ClipBuffer clip = new ClipBuffer(FRAMES, SLOT);
        assertThrows(IllegalArgumentException.class, () -> clip.push(new float[SLOT - 1]));
    }
}
