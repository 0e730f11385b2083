package dev.vmf.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The model card {@code vmf-export} writes beside every artifact ({@code x.tflite} -> {@code
 * x.json}): the input contract (frames, resolution, layout, mean/std, colour order), the labels
 * and how the model was trained to see video ({@code sample_fps}, {@code clip_sampling}). It is
 * validated with the same rules as {@code vmf.contract.card.validate_sidecar}, so the app refuses a
 * card the Python runtime would refuse, with the same kind of one-line message.
 */
public final class ModelCard {

    /**
     * The card's major version this app reads ({@code SIDECAR_VERSION} in contract/card.py); a
     * newer one is refused (docs/model-card.md, "Versions").
     */
    public static final int SIDECAR_VERSION = 1;

    /** Keys every sidecar carries ({@code REQUIRED_KEYS} in contract/card.py). */
    public static final List<String> REQUIRED_KEYS = Collections.unmodifiableList(Arrays.asList(
            "sidecar_version", "variant", "baseline", "frames", "resolution", "temporal_stride",
            "input_name", "input_layout", "input_shape", "mean", "std", "color",
            "labels", "output", "precision", "converter", "weights_sha256", "untrained",
            "parity", "macs", "params", "versions"));

    /** Values of the optional {@code clip_sampling} ({@code CLIP_SAMPLINGS} in contract/sampling.py). */
    public static final List<String> CLIP_SAMPLINGS = Collections.unmodifiableList(Arrays.asList(
            "video", "stream"));

    private final String source;
    private final String variant;
    private final int frames;
    private final int resolution;
    private final Layout layout;
    private final int[] inputShape;
    private final float[] mean;
    private final float[] std;
    private final List<String> labels;
    private final String precision;
    private final Double sampleFps;
    private final String clipSampling;
    private final boolean untrained;

    private ModelCard(String source, Map<String, Object> meta) throws ModelCardException {
        this.source = source;
        Object version = meta.get("sidecar_version");
        if (version instanceof Number && ((Number) version).doubleValue() > SIDECAR_VERSION) {
            throw new ModelCardException(source + " is model card version " + version
                    + ", newer than this app reads (" + SIDECAR_VERSION + "): update the app");
        }
        List<String> missing = new ArrayList<>();
        for (String key : REQUIRED_KEYS) {
            if (!meta.containsKey(key)) {
                missing.add(key);
            }
        }
        if (!missing.isEmpty()) {
            throw new ModelCardException(source + " lacks keys: " + String.join(", ", missing));
        }
        Object layoutName = meta.get("input_layout");
        if (!"TCHW".equals(layoutName) && !"THWC".equals(layoutName)) {
            throw fail("input_layout " + quote(layoutName) + " is not one of TCHW, THWC");
        }
        layout = Layout.valueOf((String) layoutName);
        frames = positiveInt(meta, "frames");
        resolution = positiveInt(meta, "resolution");
        inputShape = intList(meta, "input_shape");
        int[] expected = layout.inputShape(frames, resolution);
        if (!Arrays.equals(inputShape, expected)) {
            throw fail("input_shape " + Arrays.toString(inputShape) + " does not match " + layout
                    + " with frames=" + frames + ", resolution=" + resolution
                    + " (expected " + Arrays.toString(expected) + ")");
        }
        mean = floats3(meta.get("mean"));
        std = floats3(meta.get("std"));
        if (mean == null || std == null || !(std[0] > 0 && std[1] > 0 && std[2] > 0)) {
            throw fail("mean/std must be 3 numbers each, std > 0");
        }
        if (!"RGB".equals(meta.get("color"))) {
            throw fail("color " + quote(meta.get("color")) + " is not supported (RGB only)");
        }
        labels = stringList(meta.get("labels"));
        if (labels == null || labels.isEmpty()) {
            throw fail("labels must be a non-empty list of strings");
        }
        if (meta.containsKey("num_classes")) {
            int classes = positiveInt(meta, "num_classes");
            if (classes != labels.size()) {
                throw fail(labels.size() + " labels for num_classes=" + classes
                        + " (one label per output value)");
            }
        }
        variant = String.valueOf(meta.get("variant"));
        precision = String.valueOf(meta.get("precision"));
        untrained = Boolean.TRUE.equals(meta.get("untrained"));
        Object fps = meta.get("sample_fps");
        if (fps == null) {
            sampleFps = null;
        } else if (fps instanceof Number && ((Number) fps).doubleValue() > 0
                && !Double.isInfinite(((Number) fps).doubleValue())) {
            sampleFps = ((Number) fps).doubleValue();
        } else {
            throw fail("sample_fps " + quote(fps) + " must be a positive number or null");
        }
        Object sampling = meta.get("clip_sampling");
        if (sampling != null && !CLIP_SAMPLINGS.contains(sampling)) {
            throw fail("clip_sampling is " + quote(sampling) + ", not one of video, stream, null");
        }
        clipSampling = (String) sampling;
    }

    /** Parses and validates a sidecar's text; {@code source} names it in error messages. */
    public static ModelCard parse(String json, String source) throws ModelCardException {
        Object root;
        try {
            root = Json.parse(json);
        } catch (Json.ParseException e) {
            throw new ModelCardException(source + " is not valid JSON (" + e.getMessage() + ")");
        }
        if (!(root instanceof Map)) {
            throw new ModelCardException(source + " is not a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> meta = (Map<String, Object>) root;
        return new ModelCard(source, meta);
    }

    /** {@code vmf-560m_fp32.tflite} -> {@code vmf-560m_fp32.json}, as {@code sidecar_path} does. */
    public static String sidecarName(String artifactName) {
        int dot = artifactName.lastIndexOf('.');
        return (dot > 0 ? artifactName.substring(0, dot) : artifactName) + ".json";
    }

    /**
     * Checks the model's real tensor shapes against this card: the input must be the card's
     * {@code input_shape} and the output {@code [1, labels]}. The message says what to re-export.
     */
    public void checkModel(int[] modelInputShape, int[] modelOutputShape) throws ModelCardException {
        if (!Arrays.equals(modelInputShape, inputShape)) {
            throw new ModelCardException("the model takes input " + Arrays.toString(modelInputShape)
                    + " but " + source + " says " + Arrays.toString(inputShape) + " (" + layout
                    + "); copy the .tflite and the .json of the same export");
        }
        int classes = 1;
        for (int d : modelOutputShape) {
            classes *= d;
        }
        if (modelOutputShape.length == 0 || modelOutputShape[0] != 1 || classes != labels.size()) {
            throw new ModelCardException("the model gives output " + Arrays.toString(modelOutputShape)
                    + " but " + source + " lists " + labels.size() + " labels (expected [1, "
                    + labels.size() + "])");
        }
    }

    public String variant() {
        return variant;
    }

    public int frames() {
        return frames;
    }

    public int resolution() {
        return resolution;
    }

    public Layout layout() {
        return layout;
    }

    public int[] inputShape() {
        return inputShape.clone();
    }

    public float[] mean() {
        return mean.clone();
    }

    public float[] std() {
        return std.clone();
    }

    public List<String> labels() {
        return labels;
    }

    public String precision() {
        return precision;
    }

    /** Frames per second the clip is sampled at, or {@code null}: take every camera frame. */
    public Double sampleFps() {
        return sampleFps;
    }

    /**
     * Which clips the model was trained on: {@code "video"} (one clip spread over each whole
     * video), {@code "stream"} (consecutive frames, as the camera's clip buffer holds them), or
     * {@code null} when the card does not say (cards from before the key existed).
     */
    public String clipSampling() {
        return clipSampling;
    }

    /**
     * One line for the screen about what the model was trained on, or {@code null} when that is
     * what the stream gives it (or unknown): a {@code "video"} model sees shorter windows here
     * than in training and may be unsure.
     */
    public String trainingNote() {
        if (!"video".equals(clipSampling)) {
            return null;
        }
        return "trained on whole videos: the camera's shorter windows may leave it unsure";
    }

    /** True when the weights are random (no checkpoint was given to vmf-export). */
    public boolean untrained() {
        return untrained;
    }

    private ModelCardException fail(String what) {
        return new ModelCardException(source + ": " + what);
    }

    private int positiveInt(Map<String, Object> meta, String key) throws ModelCardException {
        Object value = meta.get(key);
        if (!isIntegral(value) || ((Number) value).longValue() < 1
                || ((Number) value).longValue() > Integer.MAX_VALUE) {
            throw fail(key + " " + quote(value) + " must be a positive integer");
        }
        return (int) ((Number) value).longValue();
    }

    private int[] intList(Map<String, Object> meta, String key) throws ModelCardException {
        Object value = meta.get(key);
        if (!(value instanceof List)) {
            throw fail(key + " must be a list of integers");
        }
        List<?> list = (List<?>) value;
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!isIntegral(list.get(i))) {
                throw fail(key + " must be a list of integers");
            }
            out[i] = (int) ((Number) list.get(i)).longValue();
        }
        return out;
    }

    private static boolean isIntegral(Object value) {
        if (value instanceof Long) {
            return true;
        }
        // Python writes 64.0 for a float that holds an integer; accept it as the runtime does.
        return value instanceof Double && ((Double) value) == Math.rint((Double) value)
                && !Double.isInfinite((Double) value);
    }

    private static float[] floats3(Object value) {
        if (!(value instanceof List) || ((List<?>) value).size() != 3) {
            return null;
        }
        float[] out = new float[3];
        for (int i = 0; i < 3; i++) {
            Object v = ((List<?>) value).get(i);
            if (!(v instanceof Number)) {
                return null;
            }
            // double -> float rounds as numpy's float32 cast of the same Python float does
            out[i] = (float) ((Number) v).doubleValue();
        }
        return out;
    }

    private static List<String> stringList(Object value) {
        if (!(value instanceof List)) {
            return null;
        }
        List<String> out = new ArrayList<>();
        for (Object v : (List<?>) value) {
            if (!(v instanceof String)) {
                return null;
            }
            out.add((String) v);
        }
        return Collections.unmodifiableList(out);
    }

    private static String quote(Object value) {
        return value instanceof String ? "'" + value + "'" : String.valueOf(value);
    }
}
