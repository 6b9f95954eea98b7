package dev.rewind.models;

import dev.rewind.engine.tensor.GgmlType;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * One tensor of a model's weights under its GGUF name, whatever file it came from.
 *
 * @param name   GGUF name, e.g. {@code blk.0.attn_q.weight}
 * @param type   storage type
 * @param shape  dimensions in ggml order ({@code shape[0]} is the contiguous one: a matrix's inputs)
 * @param data   the bytes, a view of the mapped file (a small copy only where the source's values must
 *               be changed, e.g. Gemma's Hugging Face norms {@code w} that are computed as {@code 1 + w})
 * @param file   the file the tensor is read from
 * @param origin the tensor's name in that file (differs from {@code name} for Hugging Face weights)
 */
public record WeightTensor(String name, GgmlType type, long[] shape, MemorySegment data, Path file, String origin) {

    public WeightTensor {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long byteSize() {
        return data.byteSize();
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
