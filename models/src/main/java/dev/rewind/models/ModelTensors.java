package dev.rewind.models;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.tensor.UnsupportedTensorTypeException;
import dev.rewind.engine.tensor.WeightMatrix;
import dev.rewind.engine.tensor.WeightPacker;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Optional;

/**
 * Looks up a model's tensors by GGUF name in its weights (a GGUF file or a Hugging Face folder) and checks their shapes, so a wrong file
 * fails at load time with a message naming the tensor, not with garbage or an index error
 * during generation. With a {@link WeightPacker} (the {@code FAST} precision), the matrices a
 * forward pass multiplies by come back in their packed form.
 */
final class ModelTensors {

    private final ModelWeights file;
    private final WeightPacker packer;
    private final LoadTimeQuantizer quantizer;

    /** Tensors of a GGUF file read in place, for the exact path. */
    ModelTensors(GgufFile file) {
        this(new GgufWeights(file), null);
    }

    /** Matrices packed by {@code packer} when it is not null. */
    ModelTensors(ModelWeights file, WeightPacker packer) {
        this(file, packer, null);
    }

    /** Float matrices quantized by {@code quantizer} first, when it is not null. */
    ModelTensors(ModelWeights file, WeightPacker packer, LoadTimeQuantizer quantizer) {
        this.file = file;
        this.packer = packer;
        this.quantizer = quantizer;
    }

    boolean has(String name) {
        return file.tensor(name).isPresent();
    }

    /** A weight matrix of {@code rows} outputs × {@code cols} inputs (ggml shape [cols, rows]), to multiply by. */
    WeightMatrix matrix(String name, int rows, int cols) throws ModelFormatException {
        WeightTensor info = require(name);
        checkShape(info, cols, rows);
        try {
            return quantized(info, WeightMatrix.of(name, info.type(), info.data(), rows, cols), this::forProducts);
        } catch (UnsupportedTensorTypeException e) {
            throw new ModelFormatException(info.file(), e.getMessage(), e);
        }
    }

    /**
     * {@code m} quantized while loading when there is a quantizer (then {@code then} applied; a packed
     * copy frees the quantized one), else {@code then} applied to {@code m}.
     */
    private WeightMatrix quantized(WeightTensor info, WeightMatrix m, java.util.function.UnaryOperator<WeightMatrix> then)
            throws ModelFormatException {
        if (quantizer == null) {
            return then.apply(m);
        }
        try {
            return quantizer.quantize(m, then);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(info.file(), "tensor " + file.describe(info.name()) + " " + e.getMessage(), e);
        }
    }

    /** {@code m} as the forward pass multiplies by it: packed when this reads for the fast path. */
    WeightMatrix forProducts(WeightMatrix m) {
        return packer == null ? m : packer.pack(m);
    }

    /** A weight matrix read in place from the file, never packed (an embedding: rows are looked up, not multiplied). */
    WeightMatrix inPlace(String name, int rows, int cols) throws ModelFormatException {
        WeightTensor info = require(name);
        checkShape(info, cols, rows);
        try {
            WeightMatrix m = WeightMatrix.of(name, info.type(), info.data(), rows, cols);
            return quantized(info, m, java.util.function.UnaryOperator.identity());
        } catch (UnsupportedTensorTypeException e) {
            throw new ModelFormatException(info.file(), e.getMessage(), e);
        }
    }

    /**
     * The {@code count} matrices of a 3-D expert tensor (ggml shape [cols, rows, count]): expert
     * {@code e} is the {@code e}-th block of {@code rows} rows, each read in place (packed for products
     * when this reads for the fast path).
     */
    WeightMatrix[] experts(String name, int count, int rows, int cols) throws ModelFormatException {
        java.util.List<WeightTensor> separate = file.experts(name);
        if (!separate.isEmpty()) {
            if (separate.size() != count) {
                throw new ModelFormatException(file.path(), "tensor " + file.describe(name) + " has " + separate.size()
                        + " experts, expected " + count);
            }
            WeightMatrix[] out = new WeightMatrix[count];
            for (int e = 0; e < count; e++) {
                WeightTensor info = separate.get(e);
                checkShape(info, cols, rows);
                try {
                    WeightMatrix m = WeightMatrix.of(info.name(), info.type(), info.data(), rows, cols);
                    out[e] = quantized(info, m, this::forProducts);
                } catch (UnsupportedTensorTypeException x) {
                    throw new ModelFormatException(info.file(), x.getMessage(), x);
                }
            }
            return out;
        }
        WeightTensor info = require(name);
        checkShape(info, cols, rows, count);
        MemorySegment data = info.data();
        long bytes = data.byteSize() / count;
        WeightMatrix[] out = new WeightMatrix[count];
        try {
            for (int e = 0; e < count; e++) {
                WeightMatrix m = WeightMatrix.of(name + "[" + e + "]", info.type(), data.asSlice(e * bytes, bytes), rows, cols);
                out[e] = quantized(info, m, this::forProducts);
            }
        } catch (UnsupportedTensorTypeException e) {
            throw new ModelFormatException(info.file(), e.getMessage(), e);
        }
        return out;
    }

    Optional<WeightMatrix> optionalMatrix(String name, int rows, int cols) throws ModelFormatException {
        return has(name) ? Optional.of(matrix(name, rows, cols)) : Optional.empty();
    }

    /** A 1-D F32 (or F16, BF16) tensor of {@code n} values, copied to the heap (norm weights, biases: tiny). */
    float[] vector(String name, int n) throws ModelFormatException {
        WeightTensor info = require(name);
        checkShape(info, n);
        MemorySegment data = info.data();
        float[] out = new float[n];
        switch (info.type()) {
            case F32 -> MemorySegment.copy(data, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, out, 0, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.float16ToFloat(data.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2L * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.intBitsToFloat(data.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2L * i) << 16);
                }
            }
            default -> throw new ModelFormatException(info.file(),
                    "tensor " + file.describe(name) + " is a vector of type " + info.type() + "; vectors must be F32, F16 or BF16");
        }
        return out;
    }

    Optional<float[]> optionalVector(String name, int n) throws ModelFormatException {
        return has(name) ? Optional.of(vector(name, n)) : Optional.empty();
    }

    private WeightTensor require(String name) throws ModelFormatException {
        return file.tensor(name).orElseThrow(() -> new ModelFormatException(file.path(), "tensor " + file.describe(name) + " is missing"));
    }

    private void checkShape(WeightTensor info, long... expected) throws ModelFormatException {
        long[] actual = info.shape();
        int dims = actual.length;
        while (dims > expected.length && actual[dims - 1] == 1) {
            dims--;
        }
        if (!Arrays.equals(Arrays.copyOf(actual, dims), expected)) {
            throw new ModelFormatException(info.file(), "tensor " + file.describe(info.name()) + " has shape "
                    + Arrays.toString(actual) + " (ggml order), expected " + Arrays.toString(expected));
        }
    }
}
