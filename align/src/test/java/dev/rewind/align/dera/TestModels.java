package dev.rewind.align.dera;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.gguf.GgufValue;
import dev.rewind.engine.gguf.GgufValueType;
import dev.rewind.engine.gguf.GgufWriter;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.models.SyntheticModel;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Model files made for vocabulary tests: padded copies of a shared model, and small synthetic ones. */
final class TestModels {

    private TestModels() {
    }

    /**
     * Copies an F32 llama model, appending {@code extra} padding tokens to its vocabulary (half of
     * type UNUSED named {@code <unused N>}, half USER_DEFINED named {@code [PAD<id>]}) and as many zero
     * rows to its embedding and output matrices, as checkpoints padded to a multiple of 8 are.
     */
    static Path padded(Path source, Path target, int extra) throws IOException {
        try (GgufFile in = GgufFile.open(source); Arena arena = Arena.ofConfined()) {
            GgufWriter w = GgufWriter.create();
            for (Map.Entry<String, GgufValue> e : in.metadata().asMap().entrySet()) {
                w.metadata(e.getKey(), switch (e.getKey()) {
                    case "tokenizer.ggml.tokens" -> {
                        List<String> tokens = new ArrayList<>(((GgufValue.StrArray) e.getValue()).values());
                        int n = tokens.size();
                        for (int i = 0; i < extra; i++) {
                            tokens.add(i < extra / 2 ? "<unused" + i + ">" : "[PAD" + (n + i) + "]");
                        }
                        yield new GgufValue.StrArray(tokens);
                    }
                    case "tokenizer.ggml.scores" -> {
                        double[] s = ((GgufValue.RealArray) e.getValue()).values();
                        yield new GgufValue.RealArray(GgufValueType.FLOAT32, Arrays.copyOf(s, s.length + extra));
                    }
                    case "tokenizer.ggml.token_type" -> {
                        GgufValue.IntArray t = (GgufValue.IntArray) e.getValue();
                        long[] types = Arrays.copyOf(t.values(), t.values().length + extra);
                        for (int i = 0; i < extra; i++) {
                            types[t.values().length + i] = i < extra / 2 ? 5 : 4; // UNUSED, USER_DEFINED
                        }
                        yield new GgufValue.IntArray(t.elementType(), types);
                    }
                    default -> e.getValue();
                });
            }
            for (GgufTensorInfo t : in.tensors()) {
                MemorySegment data = in.tensorData(t);
                long[] shape = t.shape();
                if (t.name().equals("token_embd.weight") || t.name().equals("output.weight")) {
                    if (t.type() != GgmlType.F32) {
                        throw new IllegalArgumentException("padding needs an F32 " + t.name());
                    }
                    shape[1] += extra;
                    MemorySegment grown = arena.allocate(shape[0] * shape[1] * 4);
                    MemorySegment.copy(data, 0, grown, 0, data.byteSize());
                    data = grown;
                }
                w.tensor(t.name(), t.type(), shape, data);
            }
            w.write(target);
        }
        return target;
    }

    /** A small random llama with the synthetic byte-level vocabulary of {@code vocab} tokens (not tok512). */
    static Path synthetic(Path target, int vocab) throws IOException {
        SyntheticModel.Shape shape = new SyntheticModel.Shape("test", 64, 1, 2, 1, 64, vocab, 128, 10000.0, 1e-5f, false);
        try (WorkerPool pool = new WorkerPool(1)) {
            SyntheticModel.write(target, shape, GgmlType.F32, 7, pool, done -> { });
        }
        return target;
    }
}
