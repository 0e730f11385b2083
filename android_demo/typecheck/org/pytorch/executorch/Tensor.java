// Stand-in for ExecuTorch's Java Tensor (executorch-android 1.0.1), for type-checking only.
package org.pytorch.executorch;

import java.nio.FloatBuffer;

public abstract class Tensor {
    private Tensor() {
    }

    /** A direct, native-order buffer of numElements floats, for fromBlob(FloatBuffer, long[]). */
    public static FloatBuffer allocateFloatBuffer(int numElements) {
        throw new UnsupportedOperationException("type-checking stand-in");
    }

    /** A float32 tensor over a copy of data, which must hold exactly numel(shape) elements. */
    public static Tensor fromBlob(float[] data, long[] shape) {
        throw new UnsupportedOperationException("type-checking stand-in");
    }

    /**
     * A float32 tensor over data itself (no copy): it must be direct, in native order, with a
     * capacity of exactly numel(shape), or IllegalArgumentException is thrown.
     */
    public static Tensor fromBlob(FloatBuffer data, long[] shape) {
        throw new UnsupportedOperationException("type-checking stand-in");
    }

    public static long numel(long[] shape) {
        throw new UnsupportedOperationException("type-checking stand-in");
    }

    public long numel() {
        throw new UnsupportedOperationException("type-checking stand-in");
    }

    /** A fresh copy of the shape. */
    public long[] shape() {
        throw new UnsupportedOperationException("type-checking stand-in");
    }

    /** Throws IllegalStateException for a tensor that is not float32. */
    public float[] getDataAsFloatArray() {
        throw new UnsupportedOperationException("type-checking stand-in");
    }
}
