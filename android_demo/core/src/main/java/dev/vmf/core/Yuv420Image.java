package dev.vmf.core;

import java.nio.ByteBuffer;

/**
 * A YUV_420_888 camera frame, read in place from its three planes, as Android's {@code
 * ImageProxy.getPlanes()} hands them out: Y at full resolution, U and V at half resolution in
 * each direction, each plane with its own row stride (rows may be padded) and pixel stride (1 for
 * planar I420; 2 when U and V interleave, NV21/NV12, and the two planes are views into one buffer).
 *
 * <p>Colour conversion is full-range BT.601 (JFIF), in float, with no rounding, chroma taken at
 * (x/2, y/2), clamped to [0, 255]:
 * R = Y + 1.402 (V-128), G = Y - 0.344136 (U-128) - 0.714136 (V-128), B = Y + 1.772 (U-128).
 * {@code scripts/make_android_golden.py} holds the same definition in numpy. No JPEG round trip:
 * only the pixels the resampler asks for are converted.
 */
public final class Yuv420Image implements PixelSource {
    private static final float KR = 1.402f;
    private static final float KGU = 0.344136f;
    private static final float KGV = 0.714136f;
    private static final float KB = 1.772f;

    private final int width;
    private final int height;
    private final Plane y;
    private final Plane u;
    private final Plane v;

    /** One plane: its buffer (indexed from 0, position ignored) and strides in bytes. */
    public static final class Plane {
        final ByteBuffer buffer;
        final int rowStride;
        final int pixelStride;

        public Plane(ByteBuffer buffer, int rowStride, int pixelStride) {
            if (rowStride < 1 || pixelStride < 1) {
                throw new IllegalArgumentException("strides must be positive");
            }
            this.buffer = buffer;
            this.rowStride = rowStride;
            this.pixelStride = pixelStride;
        }

        int at(int row, int column) {
            return buffer.get(row * rowStride + column * pixelStride) & 0xff;
        }

        void requireCovers(int rows, int columns, String name) {
            int last = (rows - 1) * rowStride + (columns - 1) * pixelStride;
            if (last >= buffer.limit()) {
                throw new IllegalArgumentException(name + " plane holds " + buffer.limit()
                        + " bytes, too few for " + rows + "x" + columns + " with row stride "
                        + rowStride + " and pixel stride " + pixelStride);
            }
        }
    }

    public Yuv420Image(int width, int height, Plane y, Plane u, Plane v) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("empty frame " + height + "x" + width);
        }
        this.width = width;
        this.height = height;
        this.y = y;
        this.u = u;
        this.v = v;
        int chromaRows = (height + 1) / 2;
        int chromaColumns = (width + 1) / 2;
        y.requireCovers(height, width, "Y");
        u.requireCovers(chromaRows, chromaColumns, "U");
        v.requireCovers(chromaRows, chromaColumns, "V");
    }

    @Override
    public int height() {
        return height;
    }

    @Override
    public int width() {
        return width;
    }

    @Override
    public void rgb(int row, int column, float[] rgb) {
        float luma = y.at(row, column);
        float cb = u.at(row >> 1, column >> 1) - 128f;
        float cr = v.at(row >> 1, column >> 1) - 128f;
        rgb[0] = clamp(luma + KR * cr);
        rgb[1] = clamp(luma - KGU * cb - KGV * cr);
        rgb[2] = clamp(luma + KB * cb);
    }

    private static float clamp(float value) {
        return value < 0f ? 0f : (value > 255f ? 255f : value);
    }
}
