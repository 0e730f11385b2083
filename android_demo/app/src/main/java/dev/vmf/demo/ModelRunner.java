package dev.vmf.demo;

import dev.vmf.core.ClipStream;

/** A loaded model the app can stream clips into: LiteRT for a .tflite, ExecuTorch for a .pte. */
interface ModelRunner extends ClipStream.ClipRunner, AutoCloseable {
    /** What really runs the model, in words, for the overlay. */
    String device();

    @Override
    void close();
}
