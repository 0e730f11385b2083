package dev.vmf.demo;

import dev.vmf.core.ClipStream;

/**
 * One exported model behind one runtime; the app picks the runner by the model file's suffix:
 * LiteRT for a .tflite, ONNX Runtime Mobile for a .ort, ExecuTorch for a .pte.
 */
interface ModelRunner extends ClipStream.ClipRunner, AutoCloseable {
    /** Which accelerator or CPU path runs the model, in words, for the overlay. */
    String device();

    @Override
    void close();
}
