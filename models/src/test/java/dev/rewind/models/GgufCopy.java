package dev.rewind.models;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.gguf.GgufValue;
import dev.rewind.engine.gguf.GgufWriter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Copies a GGUF file with some metadata changed, so a test can start from a good model and break one
 * thing the loader must refuse. Tensors are copied byte for byte.
 */
final class GgufCopy {

    private GgufCopy() {
    }

    /**
     * Writes {@code source} to {@code target} with the metadata {@code edit} returns (it gets the file's
     * entries in order, as a mutable map: put a value to change or add a key, remove one to drop it).
     */
    static Path withMetadata(Path source, Path target, UnaryOperator<Map<String, GgufValue>> edit) throws IOException {
        try (GgufFile file = GgufFile.open(source)) {
            Map<String, GgufValue> metadata = edit.apply(new LinkedHashMap<>(file.metadata().asMap()));
            GgufWriter writer = GgufWriter.create();
            metadata.forEach(writer::metadata);
            for (GgufTensorInfo t : file.tensors()) {
                writer.tensor(t.name(), t.type(), t.shape(), file.tensorData(t));
            }
            writer.write(target);
        }
        return target;
    }

    /** {@link #withMetadata} setting one key. */
    static Path with(Path source, Path target, String key, GgufValue value) throws IOException {
        return withMetadata(source, target, m -> {
            m.put(key, value);
            return m;
        });
    }
}
