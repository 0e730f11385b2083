package dev.vmf.demo;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.vmf.core.ModelCard;
import dev.vmf.core.ModelCardException;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.Collections;

/**
 * A {@code .ort} export ({@code vmf-export --target ort}) behind ONNX Runtime Mobile's {@link
 * OrtSession}: the NNAPI execution provider when asked for, which takes the whole graph (one
 * partition, docs/mobile-accelerators.md), with ONNX Runtime's CPU provider for anything it
 * leaves; else the CPU provider alone with {@code threads} threads. {@link #device()} says which.
 *
 * <p>Create, use and close it on one thread (the inference executor).
 */
final class OrtClipRunner implements ModelRunner {
    private final OrtEnvironment environment;
    private final OrtSession session;
    private final String inputName;
    private final long[] inputShape;
    private final String device;

    private OrtClipRunner(OrtEnvironment environment, OrtSession session, String inputName,
            long[] inputShape, String device) {
        this.environment = environment;
        this.session = session;
        this.inputName = inputName;
        this.inputShape = inputShape;
        this.device = device;
    }

    /**
     * Loads {@code model} (a direct buffer holding the {@code .ort} file) and checks it against its
     * card: one float input of the card's {@code input_shape}, one output of {@code [1, labels]}; a
     * mismatch is a {@link ModelCardException} whose message the app shows.
     */
    static OrtClipRunner create(ByteBuffer model, ModelCard card, boolean useNnapi, int threads)
            throws ModelCardException {
        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        String note = null;
        OrtSession session;
        try {
            OrtSession.SessionOptions options = options(threads);
            boolean nnapi = false;
            if (useNnapi) {
                try {
                    options.addNnapi();
                    nnapi = true;
                } catch (OrtException unavailable) { // a build of ONNX Runtime without NNAPI
                    note = "NNAPI unavailable (" + unavailable.getMessage() + ")";
                }
            }
            try {
                session = environment.createSession(model, options);
            } catch (OrtException refused) { // NNAPI can refuse a graph at compile time
                if (!nnapi) {
                    throw refused;
                }
                options.close();
                options = options(threads);
                note = "NNAPI refused the model (" + refused.getMessage() + ")";
                nnapi = false;
                session = environment.createSession(model, options);
            }
            String device = nnapi
                    ? "NNAPI (ONNX Runtime)"
                    : "CPU (ONNX Runtime, " + threads + " threads)" + (note != null ? "; " + note : "");
            String input = check(session, card);
            return new OrtClipRunner(environment, session, input, toLong(card.inputShape()), device);
        } catch (OrtException e) {
            throw new ModelCardException("ONNX Runtime cannot load the model: " + e.getMessage());
        }
    }

    private static OrtSession.SessionOptions options(int threads) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(threads);
        return options;
    }

    /** The input's name, once the model's tensors are found to be what the card says. */
    private static String check(OrtSession session, ModelCard card)
            throws OrtException, ModelCardException {
        if (session.getNumInputs() != 1 || session.getNumOutputs() != 1) {
            session.close();
            throw new ModelCardException("the model has " + session.getNumInputs() + " inputs and "
                    + session.getNumOutputs()
                    + " outputs; a vmf export has one clip input and one logits output");
        }
        NodeInfo input = session.getInputInfo().values().iterator().next();
        NodeInfo output = session.getOutputInfo().values().iterator().next();
        if (!(input.getInfo() instanceof TensorInfo inputInfo)
                || !(output.getInfo() instanceof TensorInfo outputInfo)) {
            session.close();
            throw new ModelCardException("the model's input or output is not a tensor");
        }
        if (inputInfo.type != OnnxJavaType.FLOAT) {
            session.close();
            throw new ModelCardException("the model takes " + inputInfo.type
                    + " input; the app feeds the normalised float32 clip the sidecar describes");
        }
        try {
            card.checkModel(toInt(inputInfo.getShape()), toInt(outputInfo.getShape()));
        } catch (ModelCardException e) {
            session.close();
            throw e;
        }
        return input.getName();
    }

    private static int[] toInt(long[] shape) {
        int[] out = new int[shape.length];
        for (int i = 0; i < shape.length; i++) {
            out[i] = (int) shape[i];
        }
        return out;
    }

    private static long[] toLong(int[] shape) {
        long[] out = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            out[i] = shape[i];
        }
        return out;
    }

    @Override
    public String device() {
        return device;
    }

    @Override
    public void run(ByteBuffer clip, float[] logits) throws OrtException {
        // The clip buffer is direct and in native order: the tensor wraps it without a copy.
        FloatBuffer data = clip.asFloatBuffer();
        try (OnnxTensor tensor = OnnxTensor.createTensor(environment, data, inputShape);
                OrtSession.Result result = session.run(Collections.singletonMap(inputName, tensor))) {
            OnnxValue value = result.get(0);
            if (!(value instanceof OnnxTensor out)) {
                throw new IllegalStateException("the model's output is not a tensor");
            }
            out.getFloatBuffer().get(logits);
        }
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException("cannot close the ONNX Runtime session", e);
        }
    }
}
