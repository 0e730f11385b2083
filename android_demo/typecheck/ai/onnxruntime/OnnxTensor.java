// Stand-in for ONNX Runtime's Java API (com.microsoft.onnxruntime:onnxruntime-android): the
// signatures the app calls, taken from the ai.onnxruntime Javadoc, so that javac can type-check
// OrtClipRunner without the Android library (typecheck/check.sh). Never packaged into the app.
package ai.onnxruntime;

import java.nio.FloatBuffer;

public class OnnxTensor extends OnnxTensorLike {
    public static OnnxTensor createTensor(OrtEnvironment env, FloatBuffer data, long[] shape)
            throws OrtException {
        return new OnnxTensor();
    }

    public FloatBuffer getFloatBuffer() {
        return FloatBuffer.allocate(0);
    }

    @Override
    public void close() {
    }
}
