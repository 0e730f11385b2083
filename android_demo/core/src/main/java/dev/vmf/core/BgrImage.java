package dev.vmf.core;

/**
 * An interleaved 8-bit BGR image, OpenCV's frame layout: the form the Python runtime receives
 * frames in, used to check this core against it byte for byte.
 */
public final class BgrImage implements PixelSource {
    private final byte[] data;
    private final int height;
    private final int width;

    public BgrImage(byte[] data, int height, int width) {
        if (height < 1 || width < 1 || data.length != height * width * 3) {
            throw new IllegalArgumentException("expected " + height + "x" + width + "x3 bytes, got " + data.length);
        }
        this.data = data;
        this.height = height;
        this.width = width;
    }

    @Override
    public int height() {
        return height;
    }

    @Override
    public int width() {
        return width;
    }

    @Override
    public void rgb(int y, int x, float[] rgb) {
        int i = (y * width + x) * 3;
        rgb[0] = data[i + 2] & 0xff;
        rgb[1] = data[i + 1] & 0xff;
        rgb[2] = data[i] & 0xff;
    }
}
