package dev.vmf.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelCardTest {
    private static final Map<String, Object> EXPECTED = Golden.map(Golden.manifest().get("sidecar"));
    private static final String SIDECAR = Golden.text((String) EXPECTED.get("file"));

    private static ModelCard card(String json) throws ModelCardException {
        return ModelCard.parse(json, "model.json");
    }

    private static String errorOf(String json) {
        return assertThrows(ModelCardException.class, () -> card(json)).getMessage();
    }

    @Test
    void readsTheSidecarAsPythonDoes() throws Exception {
        ModelCard c = card(SIDECAR);
        assertEquals(EXPECTED.get("variant"), c.variant());
        assertEquals(Golden.integer(EXPECTED.get("frames")), c.frames());
        assertEquals(Golden.integer(EXPECTED.get("resolution")), c.resolution());
        assertEquals(Layout.valueOf((String) EXPECTED.get("layout")), c.layout());
        int[] shape = Golden.list(EXPECTED.get("input_shape")).stream().mapToInt(Golden::integer).toArray();
        assertArrayEquals(shape, c.inputShape());
        assertEquals(Golden.integer(EXPECTED.get("labels")), c.labels().size());
        assertEquals(EXPECTED.get("first_label"), c.labels().get(0));
        assertEquals(EXPECTED.get("last_label"), c.labels().get(c.labels().size() - 1));
        assertArrayEquals(Golden.floats3(EXPECTED.get("mean")), c.mean());
        assertArrayEquals(Golden.floats3(EXPECTED.get("std")), c.std());
        assertEquals(EXPECTED.get("precision"), c.precision());
    }

    @Test
    void theExportedModelPassesTheAppsLoadCheck() throws Exception {
        // shapes LiteRT reported for the .tflite this sidecar came with (when it came from vmf-export)
        org.junit.jupiter.api.Assumptions.assumeTrue(EXPECTED.containsKey("model_input_shape"),
                "fixture sidecar not from a real export");
        int[] in = Golden.list(EXPECTED.get("model_input_shape")).stream().mapToInt(Golden::integer).toArray();
        int[] out = Golden.list(EXPECTED.get("model_output_shape")).stream().mapToInt(Golden::integer).toArray();
        assertEquals("float32", EXPECTED.get("model_input_dtype"));
        card(SIDECAR).checkModel(in, out);
    }

    @Test
    void refusesWhatValidateSidecarRefuses() {
        assertEquals("model.json lacks keys: labels, macs",
                errorOf(SIDECAR.replace("\"labels\"", "\"labelz\"").replace("\"macs\"", "\"macz\"")));
        assertTrue(errorOf(SIDECAR.replace("\"THWC\"", "\"NCTHW\"").replace("\"TCHW\"", "\"NCTHW\""))
                .startsWith("model.json: input_layout 'NCTHW' is not one of TCHW, THWC"));
        assertTrue(errorOf(SIDECAR.replace("\"color\": \"RGB\"", "\"color\": \"BGR\""))
                .contains("color 'BGR' is not supported (RGB only)"));
        assertTrue(errorOf(SIDECAR.replaceFirst("\"std\": \\[\\s*[0-9.]+", "\"std\": [0"))
                .contains("mean/std must be 3 numbers each, std > 0"));
        assertTrue(errorOf(SIDECAR.replaceFirst("\"labels\": \\[[^\\]]*\\]", "\"labels\": []"))
                .contains("labels must be a non-empty list of strings"));
        assertTrue(errorOf("[1, 2]").equals("model.json is not a JSON object"));
        assertTrue(errorOf("{\"variant\": ").startsWith("model.json is not valid JSON (invalid JSON at line 1"));
    }

    @Test
    void refusesACardOfANewerMajorVersion() {
        String newer = SIDECAR.replaceFirst("\"sidecar_version\": \\d+", "\"sidecar_version\": 2");
        assertEquals("model.json is model card version 2, newer than this app reads (1): update the app",
                errorOf(newer));
        assertEquals("model.json lacks keys: sidecar_version",
                errorOf(SIDECAR.replace("\"sidecar_version\"", "\"sidecar_versio\"")));
    }

    @Test
    void refusesLabelsThatDisagreeWithTheClassCount() throws Exception {
        int n = card(SIDECAR).labels().size();
        String without = SIDECAR.replaceFirst("\"num_classes\": \\d+,?", "\"num_classez\": 0,");
        String withCount = without.replaceFirst("\\{", "{\"num_classes\": " + (n + 1) + ",");
        assertEquals("model.json: " + n + " labels for num_classes=" + (n + 1)
                + " (one label per output value)", errorOf(withCount));
        card(without.replaceFirst("\\{", "{\"num_classes\": " + n + ",")); // agrees: accepted
    }

    @Test
    void refusesAnInputShapeThatDisagreesWithFramesAndResolution() throws Exception {
        ModelCard c = card(SIDECAR);
        String wrong = SIDECAR.replaceFirst("\"frames\": \\d+", "\"frames\": 32");
        String message = errorOf(wrong);
        assertTrue(message.startsWith("model.json: input_shape " + java.util.Arrays.toString(c.inputShape())
                + " does not match " + c.layout() + " with frames=32"), message);
    }

    @Test
    void checksTheModelTensorsAgainstTheCard() throws Exception {
        ModelCard c = card(SIDECAR);
        int n = c.labels().size();
        c.checkModel(c.inputShape(), new int[] {1, n}); // agrees: no exception
        int[] transposed = c.layout() == Layout.THWC
                ? Layout.TCHW.inputShape(c.frames(), c.resolution())
                : Layout.THWC.inputShape(c.frames(), c.resolution());
        String input = assertThrows(ModelCardException.class,
                () -> c.checkModel(transposed, new int[] {1, n})).getMessage();
        assertTrue(input.startsWith("the model takes input " + java.util.Arrays.toString(transposed)), input);
        String output = assertThrows(ModelCardException.class,
                () -> c.checkModel(c.inputShape(), new int[] {1, n + 1})).getMessage();
        assertEquals("the model gives output [1, " + (n + 1) + "] but model.json lists " + n
                + " labels (expected [1, " + n + "])", output);
        assertThrows(ModelCardException.class, () -> c.checkModel(c.inputShape(), new int[] {2, n / 2}));
    }

    @Test
    void sampleFpsIsOptionalButMustBePositive() throws Exception {
        String base = SIDECAR.replaceFirst(",\\s*\"sample_fps\": [^,}\\n]+", "");
        assertEquals(null, card(base).sampleFps());
        String withFps = base.replaceFirst("\\{", "{\"sample_fps\": 7.5, ");
        assertEquals(7.5, card(withFps).sampleFps());
        assertTrue(errorOf(base.replaceFirst("\\{", "{\"sample_fps\": -1, "))
                .contains("sample_fps -1 must be a positive number or null"));
    }

    @Test
    void clipSamplingIsOptionalAndOneOfVideoStreamOrNull() throws Exception {
        // the fixture carries the key, as every card written since it exists does
        assertEquals(EXPECTED.get("clip_sampling"), card(SIDECAR).clipSampling());
        String base = SIDECAR.replaceFirst(",\\s*\"clip_sampling\": [^,}\\n]+", "");
        assertEquals(null, card(base).clipSampling()); // an older card: not recorded
        assertEquals(null, card(base).trainingNote());
        assertEquals(null, card(base.replaceFirst("\\{", "{\"clip_sampling\": null, ")).clipSampling());
        ModelCard stream = card(base.replaceFirst("\\{", "{\"clip_sampling\": \"stream\", "));
        assertEquals("stream", stream.clipSampling());
        assertEquals(null, stream.trainingNote());
        ModelCard video = card(base.replaceFirst("\\{", "{\"clip_sampling\": \"video\", "));
        assertEquals("video", video.clipSampling());
        assertTrue(video.trainingNote().startsWith("trained on whole videos"));
        assertEquals("model.json: clip_sampling is 'clips', not one of video, stream, null",
                errorOf(base.replaceFirst("\\{", "{\"clip_sampling\": \"clips\", ")));
        assertEquals("model.json: clip_sampling is 1, not one of video, stream, null",
                errorOf(base.replaceFirst("\\{", "{\"clip_sampling\": 1, ")));
    }

    @Test
    void sidecarNameFollowsSidecarPath() {
        assertEquals("vmf-560m_fp32.json", ModelCard.sidecarName("vmf-560m_fp32.tflite"));
        assertEquals("vmf-1g.fp16.json", ModelCard.sidecarName("vmf-1g.fp16.tflite"));
        assertEquals("model.json", ModelCard.sidecarName("model"));
    }
}
