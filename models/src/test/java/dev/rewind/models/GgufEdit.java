package dev.rewind.models;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.gguf.GgufValue;
import dev.rewind.engine.gguf.GgufWriter;
import dev.rewind.engine.tensor.GgmlType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A copy of a GGUF file with metadata keys set or removed and F32 vector tensors added, for tests of
 * what the loader does with keys and tensors the shared files do not have.
 */
final class GgufEdit {

    private final Path source;
    private final Map<String, GgufValue> set = new LinkedHashMap<>();
    private final Map<String, float[]> vectors = new LinkedHashMap<>();
    private final java.util.Set<String> removed = new java.util.HashSet<>();

    private GgufEdit(Path source) {
        this.source = source;
    }

    static GgufEdit of(Path source) {
        return new GgufEdit(source);
    }

    /** Sets (replacing or adding) a metadata key. */
    GgufEdit set(String key, GgufValue value) {
        set.put(key, value);
        return this;
    }

    GgufEdit remove(String key) {
        removed.add(key);
        return this;
    }

    /** Adds a 1-D F32 tensor. */
    GgufEdit vector(String name, float[] values) {
        vectors.put(name, values.clone());
        return this;
    }

    /** Writes the edited copy to {@code target}. */
    Path write(Path target) throws IOException {
        try (GgufFile file = GgufFile.open(source)) {
            GgufWriter w = GgufWriter.create();
            for (Map.Entry<String, GgufValue> e : file.metadata().asMap().entrySet()) {
                if (!removed.contains(e.getKey()) && !set.containsKey(e.getKey())) {
                    w.metadata(e.getKey(), e.getValue());
                }
            }
            set.forEach(w::metadata);
            for (GgufTensorInfo t : file.tensors()) {
                w.tensor(t.name(), t.type(), t.shape(), file.tensorData(t));
            }
            for (Map.Entry<String, float[]> v : vectors.entrySet()) {
                ByteBuffer b = ByteBuffer.allocate(4 * v.getValue().length).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : v.getValue()) {
                    b.putFloat(f);
                }
                w.tensor(v.getKey(), GgmlType.F32, new long[]{v.getValue().length}, b.array());
            }
            w.write(target);
        }
        return target;
    }
}
