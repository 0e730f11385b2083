// Stand-in for ONNX Runtime's Java API (com.microsoft.onnxruntime:onnxruntime-android): the
// signatures the app calls, taken from the ai.onnxruntime Javadoc, so that javac can type-check
// OrtClipRunner without the Android library (typecheck/check.sh). Never packaged into the app.
package ai.onnxruntime;

import java.util.Collections;
import java.util.Map;

public class OrtSession implements AutoCloseable {
    public long getNumInputs() {
        return 1;
    }

    public long getNumOutputs() {
        return 1;
    }

    public Map<String, NodeInfo> getInputInfo() throws OrtException {
        return Collections.emptyMap();
    }

    public Map<String, NodeInfo> getOutputInfo() throws OrtException {
        return Collections.emptyMap();
    }

    public Result run(Map<String, ? extends OnnxTensorLike> inputs) throws OrtException {
        return new Result();
    }

    @Override
    public void close() throws OrtException {
    }

    public static class SessionOptions implements AutoCloseable {
        public void setIntraOpNumThreads(int numThreads) throws OrtException {
        }

        public void addNnapi() throws OrtException {
        }

        @Override
        public void close() {
        }
    }

    public static class Result implements AutoCloseable {
        public OnnxValue get(int index) {
            return new OnnxTensor();
        }

        @Override
        public void close() {
        }
    }
}
