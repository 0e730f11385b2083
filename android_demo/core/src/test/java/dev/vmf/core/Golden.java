package dev.vmf.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The fixtures {@code scripts/make_android_golden.py} writes from the Python contract
 * ({@code src/test/resources/golden}): a manifest plus raw little-endian blobs.
 */
final class Golden {
    private static Map<String, Object> manifest;

    private Golden() {
    }

    static synchronized Map<String, Object> manifest() {
        if (manifest == null) {
            try {
                manifest = map(Json.parse(text("manifest.json")));
            } catch (Json.ParseException e) {
                throw new IllegalStateException("golden manifest: " + e.getMessage(), e);
            }
        }
        return manifest;
    }

    static byte[] bytes(String name) {
        try (InputStream in = Golden.class.getResourceAsStream("/golden/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing fixture golden/" + name
                        + "; run scripts/make_android_golden.py");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String text(String name) {
        return new String(bytes(name), StandardCharsets.UTF_8);
    }

    static float[] floats(String name) {
        ByteBuffer raw = ByteBuffer.wrap(bytes(name)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[raw.remaining() / 4];
        raw.asFloatBuffer().get(out);
        return out;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o) {
        return (List<Object>) o;
    }

    static int integer(Object o) {
        return ((Number) o).intValue();
    }

    static float[] floats3(Object o) {
        List<Object> l = list(o);
        return new float[] {(float) ((Number) l.get(0)).doubleValue(),
                (float) ((Number) l.get(1)).doubleValue(), (float) ((Number) l.get(2)).doubleValue()};
    }

    /** Largest |a - b|; fails loudly on a length mismatch. */
    static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs((double) a[i] - b[i]));
        }
        return worst;
    }
}
