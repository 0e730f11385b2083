package dev.vmf.demo;

import dev.vmf.core.ModelCard;
import dev.vmf.core.ModelCardException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.pytorch.executorch.EValue;
import org.pytorch.executorch.Module;
import org.pytorch.executorch.Tensor;

/**
 * An exported {@code .pte} behind ExecuTorch's {@link Module}: the XNNPACK delegate on the CPU
 * with {@code threads} threads (set at load, when XNNPACK sizes its pool). {@link #device()} says
 * what runs. A {@code .pte} lowered for the Core ML delegate does not load on Android; the load
 * error is shown as is.
 *
 * <p>The clip is handed to the module as a tensor over the clip buffer itself (direct, native
 * order, the card's {@code input_shape}), so no copy is made per run. Create, use and close it
 * on one thread (the inference executor).
 */
final class ExecuTorchClipRunner implements ModelRunner {
    private final Module module;
    private final long[] inputShape;
    private final String device;

    private ExecuTorchClipRunner(Module module, long[] inputShape, String device) {
        this.module = module;
        this.inputShape = inputShape;
        this.device = device;
    }

    /**
     * Loads the {@code .pte} at {@code path} (a file: ExecuTorch maps it, it cannot read an
     * asset) and checks it against its card with one run on a zero clip of the card's {@code
     * input_shape}: ExecuTorch refuses another input shape, and the output must be {@code [1,
     * labels]}. A mismatch is a {@link ModelCardException} whose message the app shows.
     */
    static ExecuTorchClipRunner create(String path, ModelCard card, int threads)
            throws ModelCardException {
        Module module = Module.load(path, Module.LOAD_MODE_MMAP, threads);
        int[] shape = card.inputShape();
        long[] inputShape = new long[shape.length];
        int elements = 1;
        for (int i = 0; i < shape.length; i++) {
            inputShape[i] = shape[i];
            elements *= shape[i];
        }
        try {
            int loaded = module.loadMethod("forward"); // an error code, not an exception
            if (loaded != 0) {
                throw new ModelCardException("ExecuTorch cannot load the model's forward method "
                        + "(error " + loaded + "); was it exported for this runtime's backends?");
            }
            ByteBuffer zeros = ByteBuffer.allocateDirect(elements * Float.BYTES)
                    .order(ByteOrder.nativeOrder());
            EValue[] out;
            try {
                out = module.forward(EValue.from(Tensor.fromBlob(zeros.asFloatBuffer(), inputShape)));
            } catch (RuntimeException refused) { // ExecuTorch checks static input sizes
                throw new ModelCardException("the model does not take the card's input_shape ("
                        + refused.getMessage() + ")");
            }
            if (out.length != 1) {
                throw new ModelCardException("the model has " + out.length
                        + " outputs; a vmf export has one logits output");
            }
            long[] outShape = out[0].toTensor().shape();
            int[] outInts = new int[outShape.length];
            for (int i = 0; i < outShape.length; i++) {
                outInts[i] = (int) outShape[i];
            }
            card.checkModel(shape, outInts);
        } catch (ModelCardException | RuntimeException e) {
            module.destroy();
            throw e;
        }
        return new ExecuTorchClipRunner(module, inputShape,
                "CPU (ExecuTorch XNNPACK, " + threads + " threads)");
    }

    /** Which backend runs the model, in words, for the overlay. */
    @Override
    public String device() {
        return device;
    }

    @Override
    public void run(ByteBuffer clip, float[] logits) {
        FloatBuffer input = clip.asFloatBuffer(); // ClipStream's buffer: direct, native order
        EValue[] out = module.forward(EValue.from(Tensor.fromBlob(input, inputShape)));
        float[] values = out[0].toTensor().getDataAsFloatArray();
        System.arraycopy(values, 0, logits, 0, logits.length);
    }

    @Override
    public void close() {
        module.destroy();
    }
}
