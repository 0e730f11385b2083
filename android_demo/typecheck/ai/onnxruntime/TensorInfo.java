// Stand-in for ONNX Runtime's Java API (com.microsoft.onnxruntime:onnxruntime-android): the
// signatures the app calls, taken from the ai.onnxruntime Javadoc, so that javac can type-check
// OrtClipRunner without the Android library (typecheck/check.sh). Never packaged into the app.
package ai.onnxruntime;

public class TensorInfo implements ValueInfo {
    public final OnnxJavaType type = OnnxJavaType.FLOAT;

    public long[] getShape() {
        return new long[0];
    }
}
