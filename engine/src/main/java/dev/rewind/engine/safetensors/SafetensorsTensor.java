package dev.rewind.engine.safetensors;

import java.util.Arrays;

/**
 * A tensor's entry in a safetensors header.
 *
 * @param name       tensor name, e.g. {@code model.layers.0.self_attn.q_proj.weight}
 * @param dtype      element type
 * @param shape      dimensions, outermost first (row-major: a weight matrix is {@code [out, in]})
 * @param fileOffset absolute byte offset of the data in its file (8 + header length + data_offsets[0])
 * @param byteSize   bytes of data ({@code data_offsets[1] - data_offsets[0]})
 */
public record SafetensorsTensor(String name, SafetensorsDtype dtype, long[] shape, long fileOffset, long byteSize) {

    public SafetensorsTensor {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The number of elements (1 for a scalar, whose shape is empty). */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape);
    }
}
