package dev.vmf.core;

/**
 * Which source rows/columns, with which weights, make each output row/column of the
 * resize-short-side + centre-crop: {@code vmf.export.preprocess.resample_plan}, formula for
 * formula (see that module's docstring), computed once per frame size.
 *
 * <pre>
 * scale = R / min(H, W);  H' = max(R, round(H * scale))  (W' likewise; round half to even)
 * top = (H' - R) / 2;  for output row y: s = (y + top + 0.5) * H / H' - 0.5, clamped to [0, H-1]
 * y0 = floor(s), y1 = min(y0 + 1, H - 1), wy = (float) (s - y0)
 * </pre>
 */
public final class ResamplePlan {
    final int sourceHeight;
    final int sourceWidth;
    final int resolution;
    final int[] rows0;
    final int[] rows1;
    final float[] rowWeights;
    final int[] cols0;
    final int[] cols1;
    final float[] colWeights;

    private ResamplePlan(int height, int width, int resolution) {
        if (height < 1 || width < 1 || resolution < 1) {
            throw new IllegalArgumentException("empty frame " + height + "x" + width);
        }
        this.sourceHeight = height;
        this.sourceWidth = width;
        this.resolution = resolution;
        double scale = (double) resolution / Math.min(height, width);
        int scaledHeight = scaledSide(height, scale, resolution);
        int scaledWidth = scaledSide(width, scale, resolution);
        rows0 = new int[resolution];
        rows1 = new int[resolution];
        rowWeights = new float[resolution];
        cols0 = new int[resolution];
        cols1 = new int[resolution];
        colWeights = new float[resolution];
        axis(height, scaledHeight, (scaledHeight - resolution) / 2, rows0, rows1, rowWeights);
        axis(width, scaledWidth, (scaledWidth - resolution) / 2, cols0, cols1, colWeights);
    }

    public static ResamplePlan of(int height, int width, int resolution) {
        return new ResamplePlan(height, width, resolution);
    }

    /** {@code max(R, round(side * scale))}; Python's round() is half-to-even, as Math.rint. */
    static int scaledSide(int side, double scale, int resolution) {
        return Math.max(resolution, (int) Math.rint(side * scale));
    }

    private static void axis(int src, int scaled, int offset, int[] i0, int[] i1, float[] w) {
        double ratio = (double) src / scaled;
        for (int o = 0; o < i0.length; o++) {
            double s = ((double) (o + offset) + 0.5) * ratio - 0.5;
            s = Math.min(Math.max(s, 0.0), src - 1);
            int lo = (int) Math.floor(s);
            i0[o] = lo;
            i1[o] = Math.min(lo + 1, src - 1);
            w[o] = (float) (s - lo);
        }
    }

    boolean fits(int height, int width, int resolution) {
        return height == sourceHeight && width == sourceWidth && resolution == this.resolution;
    }
}
