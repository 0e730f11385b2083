package dev.vmf.core;

/**
 * An RGB image the preprocessor samples pixel by pixel, values in [0, 255] as floats. The
 * preprocessor reads only the few source pixels its bilinear taps need (at most 4 per output
 * pixel), so a camera frame is never converted or copied whole.
 */
public interface PixelSource {

    int height();

    int width();

    /** Writes the R, G, B values of pixel (y, x) into {@code rgb[0..2]}. */
    void rgb(int y, int x, float[] rgb);

    /**
     * This source turned clockwise by {@code degrees} (0, 90, 180 or 270), as CameraX's
     * {@code ImageInfo.getRotationDegrees()} asks for: the sensor's buffer is not upright, and the
     * crop must be taken from the upright picture the user sees.
     */
    static PixelSource rotated(PixelSource source, int degrees) {
        switch (degrees) {
            case 0:
                return source;
            case 90:
            case 180:
            case 270:
                return new Rotated(source, degrees);
            default:
                throw new IllegalArgumentException("rotation must be 0, 90, 180 or 270, got " + degrees);
        }
    }

    /** Index arithmetic only; nothing is copied. */
    final class Rotated implements PixelSource {
        private final PixelSource source;
        private final int degrees;

        private Rotated(PixelSource source, int degrees) {
            this.source = source;
            this.degrees = degrees;
        }

        @Override
        public int height() {
            return degrees == 180 ? source.height() : source.width();
        }

        @Override
        public int width() {
            return degrees == 180 ? source.width() : source.height();
        }

        @Override
        public void rgb(int y, int x, float[] rgb) {
            if (degrees == 90) { // the source's left column becomes the top row
                source.rgb(source.height() - 1 - x, y, rgb);
            } else if (degrees == 180) {
                source.rgb(source.height() - 1 - y, source.width() - 1 - x, rgb);
            } else { // 270: the source's right column becomes the top row
                source.rgb(x, source.width() - 1 - y, rgb);
            }
        }
    }
}
