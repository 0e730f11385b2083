// Stand-in for ExecuTorch's Java Module (executorch-android 1.0.1), for type-checking only.
package org.pytorch.executorch;

public class Module {
    /** Load the whole file as a buffer. */
    public static final int LOAD_MODE_FILE = 0;

    /** Map the file with mmap. */
    public static final int LOAD_MODE_MMAP = 1;

    /** mmap and lock the pages, failing on a locking error. */
    public static final int LOAD_MODE_MMAP_USE_MLOCK = 2;

    /** mmap and lock the pages, ignoring locking errors. */
    public static final int LOAD_MODE_MMAP_USE_MLOCK_IGNORE_ERRORS = 3;

    private Module() {
    }

    public static Module load(String modelPath, int loadMode, int numThreads) {
        throw new UnsupportedOperationException("type-checking stand-in");
    }

    public static Module load(String modelPath, int loadMode) {
        throw new UnsupportedOperationException("type-checking stand-in");
    }

    public static Module load(String modelPath) {
        throw new UnsupportedOperationException("type-checking stand-in");
    }

    public EValue[] forward(EValue... inputs) {
        throw new UnsupportedOperationException("type-checking stand-in");
    }

    public EValue[] execute(String methodName, EValue... inputs) {
        throw new UnsupportedOperationException("type-checking stand-in");
    }

    /** Returns the native error code, 0 on success; it does not throw on a load error. */
    public int loadMethod(String methodName) {
        throw new UnsupportedOperationException("type-checking stand-in");
    }

    public String[] getMethods() {
        throw new UnsupportedOperationException("type-checking stand-in");
    }

    public void destroy() {
        throw new UnsupportedOperationException("type-checking stand-in");
    }
}
