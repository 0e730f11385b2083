package dev.vmf.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class PixelSourceTest {

    /** 2 rows x 3 columns; pixel value = 10 * row + column in every channel. */
    private static BgrImage twoByThree() {
        byte[] data = new byte[2 * 3 * 3];
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 3; x++) {
                for (int c = 0; c < 3; c++) {
                    data[(y * 3 + x) * 3 + c] = (byte) (10 * y + x);
                }
            }
        }
        return new BgrImage(data, 2, 3);
    }

    private static float[][] read(PixelSource s) {
        float[][] out = new float[s.height()][s.width()];
        float[] rgb = new float[3];
        for (int y = 0; y < s.height(); y++) {
            for (int x = 0; x < s.width(); x++) {
                s.rgb(y, x, rgb);
                out[y][x] = rgb[0];
            }
        }
        return out;
    }

    @Test
    void rotatesClockwiseAsRotationDegreesAsks() {
        // source  0  1  2     90 cw: 10  0     180: 12 11 10     270 cw:  2 12
        //        10 11 12            11  1           2  1  0               1 11
        //                            12  2                                 0 10
        BgrImage s = twoByThree();
        assertArrayEquals(new float[][] {{0, 1, 2}, {10, 11, 12}}, read(PixelSource.rotated(s, 0)));
        assertArrayEquals(new float[][] {{10, 0}, {11, 1}, {12, 2}}, read(PixelSource.rotated(s, 90)));
        assertArrayEquals(new float[][] {{12, 11, 10}, {2, 1, 0}}, read(PixelSource.rotated(s, 180)));
        assertArrayEquals(new float[][] {{2, 12}, {1, 11}, {0, 10}}, read(PixelSource.rotated(s, 270)));
        assertThrows(IllegalArgumentException.class, () -> PixelSource.rotated(s, 45));
    }

    @Test
    void bgrImageHandsOutRgb() {
        BgrImage px = new BgrImage(new byte[] {1, 2, (byte) 250}, 1, 1);
        float[] rgb = new float[3];
        px.rgb(0, 0, rgb);
        assertArrayEquals(new float[] {250, 2, 1}, rgb);
    }

    @Test
    void yuvConversionIsFullRangeBt601Clamped() {
        // one 2x2 frame: Y = 0, 128, 255, 76; U = 84, V = 255 (a saturated red)
        ByteBuffer y = ByteBuffer.wrap(new byte[] {0, (byte) 128, (byte) 255, 76});
        ByteBuffer u = ByteBuffer.wrap(new byte[] {84});
        ByteBuffer v = ByteBuffer.wrap(new byte[] {(byte) 255});
        Yuv420Image img = new Yuv420Image(2, 2, new Yuv420Image.Plane(y, 2, 1),
                new Yuv420Image.Plane(u, 1, 1), new Yuv420Image.Plane(v, 1, 1));
        float[] rgb = new float[3];
        img.rgb(1, 1, rgb);
        assertEquals(76 + 1.402f * 127, rgb[0], 1e-4); // 254.05, within range
        assertEquals(Math.max(0, 76 - 0.344136f * -44 - 0.714136f * 127), rgb[1], 1e-4);
        assertEquals(Math.max(0, 76 + 1.772f * -44), rgb[2], 1e-4); // negative: clamped to 0
        img.rgb(1, 0, rgb);
        assertEquals(255f, rgb[0]); // 255 + 178: clamped
    }

    @Test
    void yuvPlanesTooSmallForTheirStridesAreRefused() {
        ByteBuffer small = ByteBuffer.allocate(3);
        ByteBuffer one = ByteBuffer.allocate(1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Yuv420Image(2, 2, new Yuv420Image.Plane(small, 2, 1),
                        new Yuv420Image.Plane(one, 1, 1), new Yuv420Image.Plane(one, 1, 1)));
        assertEquals("Y plane holds 3 bytes, too few for 2x2 with row stride 2 and pixel stride 1", e.getMessage());
    }
}
