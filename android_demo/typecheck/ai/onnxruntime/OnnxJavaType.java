// Stand-in for ONNX Runtime's Java API (com.microsoft.onnxruntime:onnxruntime-android): the
// signatures the app calls, taken from the ai.onnxruntime Javadoc, so that javac can type-check
// OrtClipRunner without the Android library (typecheck/check.sh). Never packaged into the app.
package ai.onnxruntime;

public enum OnnxJavaType {
    FLOAT, DOUBLE, INT8, INT16, INT32, INT64, BOOL, STRING, UINT8, FLOAT16, BFLOAT16, UNKNOWN
}
