package dev.vmf.core;

/** A model card (sidecar) that is unreadable, incomplete, or disagrees with its model. */
public final class ModelCardException extends Exception {
    private static final long serialVersionUID = 1L;

    public ModelCardException(String message) {
        super(message);
    }
}
