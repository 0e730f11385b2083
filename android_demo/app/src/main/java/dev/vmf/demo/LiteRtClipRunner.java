package dev.vmf.demo;

import dev.vmf.core.ModelCard;
import dev.vmf.core.ModelCardException;
import java.nio.ByteBuffer;
import org.tensorflow.lite.DataType;
import org.tensorflow.lite.Interpreter;
import org.tensorflow.lite.Tensor;
import org.tensorflow.lite.gpu.CompatibilityList;
import org.tensorflow.lite.gpu.GpuDelegate;

/**
 * The exported model behind LiteRT's {@link Interpreter}: the GPU delegate when asked for and
 * the device supports it, else (or when the delegate refuses the graph) the CPU through XNNPACK
 * with {@code threads} threads. {@link #device()} says which one really runs.
 *
 * <p>Create, use and close it on one thread (the inference executor): the GPU delegate binds its
 * GPU context to the thread that created it.
 */
final class LiteRtClipRunner implements ModelRunner {
    private final Interpreter interpreter;
    private final GpuDelegate gpu;
    private final String device;
    private final float[][] output;

    private LiteRtClipRunner(Interpreter interpreter, GpuDelegate gpu, String device, int classes) {
        this.interpreter = interpreter;
        this.gpu = gpu;
        this.device = device;
        this.output = new float[1][classes];
    }

    /**
     * Loads {@code model} and checks it against its card: one float32 input of the card's
     * {@code input_shape}, one output of {@code [1, labels]}; a mismatch is a {@link
     * ModelCardException} whose message the app shows.
     */
    static LiteRtClipRunner create(ByteBuffer model, ModelCard card, boolean useGpu, int threads)
            throws ModelCardException {
        String gpuNote = null;
        GpuDelegate gpu = null;
        if (useGpu) {
            try (CompatibilityList compatibility = new CompatibilityList()) {
                if (compatibility.isDelegateSupportedOnThisDevice()) {
                    gpu = new GpuDelegate(compatibility.getBestOptionsForThisDevice());
                } else {
                    gpuNote = "GPU delegate not supported on this device";
                }
            }
        }
        Interpreter interpreter;
        try {
            interpreter = new Interpreter(model, options(threads, gpu));
        } catch (RuntimeException refused) { // e.g. an op the delegate cannot take
            if (gpu == null) {
                throw refused;
            }
            gpu.close();
            gpu = null;
            gpuNote = "GPU delegate refused the model (" + refused.getMessage() + ")";
            interpreter = new Interpreter(model, options(threads, null));
        }
        try {
            check(interpreter, card);
        } catch (ModelCardException e) {
            interpreter.close();
            if (gpu != null) {
                gpu.close();
            }
            throw e;
        }
        String device = gpu != null
                ? "GPU delegate"
                : "CPU (XNNPACK, " + threads + " threads)" + (gpuNote != null ? "; " + gpuNote : "");
        return new LiteRtClipRunner(interpreter, gpu, device, card.labels().size());
    }

    private static Interpreter.Options options(int threads, GpuDelegate gpu) {
        Interpreter.Options options = new Interpreter.Options();
        // Passed to the Interpreter below, not just built (the TF example's setNumThreads never
        // reached its interpreter). With the GPU delegate it still sizes the CPU fallback.
        options.setNumThreads(threads);
        options.setUseXNNPACK(true);
        if (gpu != null) {
            options.addDelegate(gpu);
        }
        return options;
    }

    private static void check(Interpreter interpreter, ModelCard card) throws ModelCardException {
        if (interpreter.getInputTensorCount() != 1 || interpreter.getOutputTensorCount() != 1) {
            throw new ModelCardException("the model has " + interpreter.getInputTensorCount()
                    + " inputs and " + interpreter.getOutputTensorCount()
                    + " outputs; a vmf export has one clip input and one logits output");
        }
        Tensor input = interpreter.getInputTensor(0);
        if (input.dataType() != DataType.FLOAT32) {
            throw new ModelCardException("the model takes " + input.dataType()
                    + " input; the app feeds the normalised float32 clip the sidecar describes");
        }
        card.checkModel(input.shape(), interpreter.getOutputTensor(0).shape());
    }

    /** Which delegate runs the model, in words, for the overlay. */
    @Override
    public String device() {
        return device;
    }

    @Override
    public void run(ByteBuffer clip, float[] logits) {
        interpreter.run(clip, output);
        System.arraycopy(output[0], 0, logits, 0, logits.length);
    }

    @Override
    public void close() {
        interpreter.close();
        if (gpu != null) {
            gpu.close(); // after the interpreter that uses it
        }
    }
}
