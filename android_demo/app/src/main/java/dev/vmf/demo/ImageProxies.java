package dev.vmf.demo;

import android.graphics.ImageFormat;
import androidx.camera.core.ImageProxy;
import dev.vmf.core.PixelSource;
import dev.vmf.core.Yuv420Image;

/** CameraX frames to the core's pixel sources: the planes are read in place, nothing copied. */
final class ImageProxies {
    private ImageProxies() {
    }

    /** The frame, turned upright by its {@code rotationDegrees}. */
    static PixelSource upright(ImageProxy image) {
        if (image.getFormat() != ImageFormat.YUV_420_888) {
            throw new IllegalArgumentException("expected a YUV_420_888 frame, got format " + image.getFormat());
        }
        ImageProxy.PlaneProxy[] planes = image.getPlanes();
        Yuv420Image yuv = new Yuv420Image(image.getWidth(), image.getHeight(),
                plane(planes[0]), plane(planes[1]), plane(planes[2]));
        return PixelSource.rotated(yuv, image.getImageInfo().getRotationDegrees());
    }

    private static Yuv420Image.Plane plane(ImageProxy.PlaneProxy plane) {
        return new Yuv420Image.Plane(plane.getBuffer(), plane.getRowStride(), plane.getPixelStride());
    }
}
