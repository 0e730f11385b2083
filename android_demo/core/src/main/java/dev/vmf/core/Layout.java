package dev.vmf.core;

/**
 * How one clip is laid out in the model's single input tensor. Frames are folded into the batch
 * axis so every tensor stays rank 4, which the LiteRT GPU delegate requires (README,
 * "Export"); never {@code 1 x 3 x T x H x W}.
 */
public enum Layout {
    /** {@code [T, 3, R, R]}: one CHW slot per frame (ONNX / PyTorch order). */
    TCHW,
    /** {@code [T, R, R, 3]}: one HWC slot per frame (what the TFLite export takes). */
    THWC;

    /** The input shape of a clip of {@code frames} frames at {@code resolution}. */
    public int[] inputShape(int frames, int resolution) {
        return this == TCHW
                ? new int[] {frames, 3, resolution, resolution}
                : new int[] {frames, resolution, resolution, 3};
    }

    /** Index of channel {@code c} of pixel (y, x) inside one slot of side {@code r}. */
    int slotIndex(int y, int x, int c, int r) {
        return this == TCHW ? (c * r + y) * r + x : (y * r + x) * 3 + c;
    }
}
