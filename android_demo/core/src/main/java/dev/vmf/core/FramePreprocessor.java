package dev.vmf.core;

/**
 * One frame to one normalised slot of the clip: the exact contract of {@code
 * vmf.export.preprocess.FramePreprocessor}, so the phone feeds its model what the Python runtime
 * and the export-time parity check feed theirs (golden-tested to 1e-5).
 *
 * <p>Bilinear resize of the short side to R with half-pixel centres, centre R x R crop (both via
 * {@link ResamplePlan}, evaluated on the kept rows and columns only), then per RGB channel {@code
 * v * (1 / (255 std)) + (-mean / std)}, written in the model's layout. The float32 operations run
 * in numpy's order (rows first, then columns; {@code a * (1 - w) + b * w}), so results agree to
 * the last bit or two rather than merely to a tolerance.
 */
public final class FramePreprocessor {
    private final int resolution;
    private final Layout layout;
    private final float[] scale = new float[3];
    private final float[] bias = new float[3];
    private ResamplePlan plan;
    // scratch for the four bilinear taps; an instance is used by one thread (the camera's)
    private final float[] p00 = new float[3];
    private final float[] p01 = new float[3];
    private final float[] p10 = new float[3];
    private final float[] p11 = new float[3];

    public FramePreprocessor(int resolution, float[] mean, float[] std, Layout layout) {
        if (resolution < 1 || mean.length != 3 || std.length != 3) {
            throw new IllegalArgumentException("need a positive resolution and 3 mean/std values");
        }
        this.resolution = resolution;
        this.layout = layout;
        for (int c = 0; c < 3; c++) {
            // (v / 255 - mean) / std == v * scale + bias, rounded to float32 as numpy does
            scale[c] = 1f / (255f * std[c]);
            bias[c] = -mean[c] / std[c];
        }
    }

    public static FramePreprocessor forCard(ModelCard card) {
        return new FramePreprocessor(card.resolution(), card.mean(), card.std(), card.layout());
    }

    /** Floats in one slot: {@code 3 * R * R}. */
    public int slotSize() {
        return 3 * resolution * resolution;
    }

    public int resolution() {
        return resolution;
    }

    public Layout layout() {
        return layout;
    }

    /** Writes the slot of {@code source} into {@code out[0 .. slotSize())}. */
    public void process(PixelSource source, float[] out) {
        if (out.length < slotSize()) {
            throw new IllegalArgumentException("slot needs " + slotSize() + " floats, got " + out.length);
        }
        int h = source.height();
        int w = source.width();
        if (plan == null || !plan.fits(h, w, resolution)) {
            plan = ResamplePlan.of(h, w, resolution); // frame size rarely changes: keep the last plan
        }
        int r = resolution;
        for (int y = 0; y < r; y++) {
            int r0 = plan.rows0[y];
            int r1 = plan.rows1[y];
            float wy = plan.rowWeights[y];
            float oneMinusWy = 1f - wy;
            for (int x = 0; x < r; x++) {
                int c0 = plan.cols0[x];
                int c1 = plan.cols1[x];
                float wx = plan.colWeights[x];
                float oneMinusWx = 1f - wx;
                source.rgb(r0, c0, p00);
                source.rgb(r1, c0, p10);
                source.rgb(r0, c1, p01);
                source.rgb(r1, c1, p11);
                for (int c = 0; c < 3; c++) {
                    float left = p00[c] * oneMinusWy + p10[c] * wy;
                    float right = p01[c] * oneMinusWy + p11[c] * wy;
                    float value = left * oneMinusWx + right * wx;
                    out[layout.slotIndex(y, x, c, r)] = value * scale[c] + bias[c];
                }
            }
        }
    }
}
