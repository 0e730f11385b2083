// Stand-in for ExecuTorch's Java EValue (executorch-android 1.0.1), for type-checking only.
package org.pytorch.executorch;

public class EValue {
    private EValue() {
    }

    public static EValue from(Tensor tensor) {
        throw new UnsupportedOperationException("type-checking stand-in");
    }

    public boolean isTensor() {
        throw new UnsupportedOperationException("type-checking stand-in");
    }

    /** Throws IllegalStateException when the value is not a tensor. */
    public Tensor toTensor() {
        throw new UnsupportedOperationException("type-checking stand-in");
    }
}
