package dev.rewind.engine.kv;

/** Precision of stored keys and values. */
public enum KvType {
    /** float32, the default: attention sees exactly the values the projections produced. */
    F32(4),
    /** IEEE half precision: half the memory, values rounded to nearest even. */
    F16(2);

    private final int bytes;

    KvType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per stored value. */
    public int bytes() {
        return bytes;
    }
}
