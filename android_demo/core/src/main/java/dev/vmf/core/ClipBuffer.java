package dev.vmf.core;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * The last T preprocessed frames, in a preallocated ring of T slots: each frame is written
 * once, on arrival, over the oldest, and {@link #copyTo} hands
 * the clip out oldest first, the order the model takes, in at most two bulk copies.
 *
 * <p>Storage is a direct buffer, off the Java heap: a 64 x 224 x 224 x 3 clip is 38 MB.
 */
public final class ClipBuffer {
    private final int frames;
    private final int slotSize;
    private final FloatBuffer storage;
    private int next; // slot the next frame goes to, which also holds the oldest frame once full
    private long pushed;

    public ClipBuffer(int frames, int slotSize) {
        if (frames < 1 || slotSize < 1) {
            throw new IllegalArgumentException("need at least one frame and one value per slot");
        }
        this.frames = frames;
        this.slotSize = slotSize;
        long bytes = 4L * frames * slotSize;
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a clip of " + bytes + " bytes does not fit one buffer");
        }
        storage = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    public int frames() {
        return frames;
    }

    public int slotSize() {
        return slotSize;
    }

    /** Frames pushed since creation or the last {@link #reset}. */
    public long pushed() {
        return pushed;
    }

    public boolean isFull() {
        return pushed >= frames;
    }

    /** Copies one preprocessed frame in, over the oldest. */
    public void push(float[] slot) {
        if (slot.length < slotSize) {
            throw new IllegalArgumentException("slot has " + slot.length + " floats, needs " + slotSize);
        }
        position(storage, next * slotSize);
        storage.put(slot, 0, slotSize);
        next = (next + 1) % frames;
        pushed++;
    }

    /**
     * Writes the clip, oldest frame first, at {@code dst}'s position, advancing it by {@code
     * frames * slotSize}. Only a full clip can be handed out.
     */
    public void copyTo(FloatBuffer dst) {
        if (!isFull()) {
            throw new IllegalStateException("clip holds " + pushed + " of " + frames + " frames");
        }
        FloatBuffer view = storage.duplicate();
        // oldest part: slots next .. T-1, then the newest: 0 .. next-1
        position(view, next * slotSize);
        limit(view, frames * slotSize);
        dst.put(view);
        position(view, 0);
        limit(view, next * slotSize);
        dst.put(view);
    }

    /** Forgets every frame (a new scene, a new camera); storage is reused. */
    public void reset() {
        next = 0;
        pushed = 0;
    }

    // Through Buffer, so the bytecode calls methods every Android version has (the covariant
    // FloatBuffer overrides are newer than minSdk 26).
    static void position(Buffer buffer, int position) {
        buffer.position(position);
    }

    static void limit(Buffer buffer, int limit) {
        buffer.limit(limit);
    }
}
