package dev.rewind.engine.gguf;

import dev.rewind.engine.tensor.GgmlType;

import java.util.Arrays;

/**
 * A tensor's entry in the GGUF header.
 *
 * @param name       tensor name, e.g. {@code blk.0.attn_q.weight}
 * @param shape      dimensions in ggml order: {@code shape[0]} (ne0) is the contiguous one, i.e. a
 *                   weight matrix's input features; {@code shape[1]} its output features (rows)
 * @param type       storage type
 * @param fileOffset absolute byte offset of the tensor's data in the file
 * @param byteSize   bytes of data
 */
public record GgufTensorInfo(String name, long[] shape, GgmlType type, long fileOffset, long byteSize) {

    public GgufTensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Size of dimension {@code i}, 1 past the last dimension. */
    public long dim(int i) {
        return i < shape.length ? shape[i] : 1;
    }

    public int dimensions() {
        return shape.length;
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }
}
