// Stand-in for ONNX Runtime's Java API (com.microsoft.onnxruntime:onnxruntime-android): the
// signatures the app calls, taken from the ai.onnxruntime Javadoc, so that javac can type-check
// OrtClipRunner without the Android library (typecheck/check.sh). Never packaged into the app.
package ai.onnxruntime;

import java.nio.ByteBuffer;

public final class OrtEnvironment implements AutoCloseable {
    public static OrtEnvironment getEnvironment() {
        return new OrtEnvironment();
    }

    public OrtSession createSession(ByteBuffer modelBuffer, OrtSession.SessionOptions options)
            throws OrtException {
        return new OrtSession();
    }

    @Override
    public void close() {
    }
}
