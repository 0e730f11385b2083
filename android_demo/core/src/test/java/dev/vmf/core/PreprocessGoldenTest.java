package dev.vmf.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Parity with {@code vmf.export.preprocess.FramePreprocessor}: the tensors the Python side makes
 * from the same frames, to 1e-5.
 */
class PreprocessGoldenTest {
    private static final double TOLERANCE = 1e-5;

    static Stream<Arguments> bgrCases() {
        return Golden.list(Golden.manifest().get("preprocess")).stream()
                .map(c -> Arguments.of(Golden.map(c).get("frame") + " " + Golden.map(c).get("layout"), c));
    }

    static Stream<Arguments> yuvCases() {
        return Golden.list(Golden.manifest().get("yuv")).stream()
                .map(c -> Arguments.of(Golden.map(c).get("name"), c));
    }

    private static FramePreprocessor preprocessor(Map<String, Object> c) {
        return new FramePreprocessor(Golden.integer(c.get("resolution")), Golden.floats3(c.get("mean")),
                Golden.floats3(c.get("std")), Layout.valueOf((String) c.get("layout")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bgrCases")
    void bgrFrameMatchesPython(String name, Object spec) {
        Map<String, Object> c = Golden.map(spec);
        Map<String, Object> frame = Golden.map(Golden.map(Golden.manifest().get("frames")).get(c.get("frame")));
        BgrImage image = new BgrImage(Golden.bytes((String) frame.get("file")),
                Golden.integer(frame.get("height")), Golden.integer(frame.get("width")));
        FramePreprocessor pre = preprocessor(c);
        float[] out = new float[pre.slotSize()];
        pre.process(image, out);
        float[] expected = Golden.floats((String) c.get("expected"));
        double diff = Golden.maxAbsDiff(expected, out);
        assertTrue(diff <= TOLERANCE, name + ": max abs difference " + diff);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("yuvCases")
    void yuv420FrameMatchesPython(String name, Object spec) {
        Map<String, Object> c = Golden.map(spec);
        Map<String, Object> planes = Golden.map(c.get("planes"));
        Yuv420Image yuv = new Yuv420Image(Golden.integer(c.get("width")), Golden.integer(c.get("height")),
                plane(planes.get("y")), plane(planes.get("u")), plane(planes.get("v")));
        PixelSource upright = PixelSource.rotated(yuv, Golden.integer(c.get("rotation")));

        float[] origin = new float[3];
        upright.rgb(0, 0, origin);
        assertArrayEquals(Golden.floats3(c.get("rgb_at_origin")), origin, 1e-4f, "top-left pixel after rotation");

        FramePreprocessor pre = preprocessor(c);
        float[] out = new float[pre.slotSize()];
        pre.process(upright, out);
        double diff = Golden.maxAbsDiff(Golden.floats((String) c.get("expected")), out);
        assertTrue(diff <= TOLERANCE, name + ": max abs difference " + diff);
    }

    /** A plane as Android gives it: a view that starts at the plane's first byte. */
    private static Yuv420Image.Plane plane(Object spec) {
        Map<String, Object> p = Golden.map(spec);
        byte[] data = Golden.bytes((String) p.get("file"));
        int offset = Golden.integer(p.get("offset"));
        ByteBuffer view = ByteBuffer.wrap(data, offset, data.length - offset).slice();
        return new Yuv420Image.Plane(view, Golden.integer(p.get("row_stride")), Golden.integer(p.get("pixel_stride")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("yuvCases")
    void chromaPlanesOfInterleavedFramesShareOneBuffer(String name, Object spec) {
        // the fixtures must really exercise pixelStride 2 with overlapping U/V views, as NV21 does
        Map<String, Object> planes = Golden.map(Golden.map(spec).get("planes"));
        Map<String, Object> u = Golden.map(planes.get("u"));
        Map<String, Object> v = Golden.map(planes.get("v"));
        if (Golden.integer(u.get("pixel_stride")) == 2) {
            assertEquals(u.get("file"), v.get("file"));
            assertEquals(1, Math.abs(Golden.integer(u.get("offset")) - Golden.integer(v.get("offset"))));
        } else {
            assertEquals(1, Golden.integer(v.get("pixel_stride")));
        }
    }
}
