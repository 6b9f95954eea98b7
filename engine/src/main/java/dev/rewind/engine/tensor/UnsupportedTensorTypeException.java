package dev.rewind.engine.tensor;

/**
 * Thrown when a tensor's storage type has no Rewind kernels (see {@link GgmlType#isSupported()}).
 * The message names the tensor, its type and the supported types, so that a user loading a model
 * learns which file to convert instead of reading a stack trace.
 */
public final class UnsupportedTensorTypeException extends IllegalArgumentException {

    private final String tensorName;
    private final GgmlType type;

    /**
     * @param tensorName the tensor's name in the model file, e.g. {@code blk.0.attn_q.weight}
     * @param type       its storage type, one for which {@link GgmlType#isSupported()} is false
     */
    public UnsupportedTensorTypeException(String tensorName, GgmlType type) {
        super("tensor '" + tensorName + "' has type " + type + ", which Rewind does not support yet (supported: "
                + WeightMatrix.SUPPORTED_TYPES_TEXT + ")");
        this.tensorName = tensorName;
        this.type = type;
    }

    /** The name of the offending tensor. */
    public String tensorName() {
        return tensorName;
    }

    /** The unsupported type. */
    public GgmlType type() {
        return type;
    }
}
