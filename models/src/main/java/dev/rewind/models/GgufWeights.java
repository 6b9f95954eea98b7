package dev.rewind.models;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The tensors of a mapped GGUF file, as views of the mapping. */
public final class GgufWeights implements ModelWeights {

    private final GgufFile gguf;
    private final Map<String, WeightTensor> tensors = new LinkedHashMap<>();

    public GgufWeights(GgufFile gguf) {
        this.gguf = gguf;
        for (GgufTensorInfo t : gguf.tensors()) {
            tensors.put(t.name(), new WeightTensor(t.name(), t.type(), t.shape(), gguf.tensorData(t), gguf.path(), t.name()));
        }
    }

    /** The GGUF file (its metadata and layout). */
    public GgufFile gguf() {
        return gguf;
    }

    @Override
    public Path path() {
        return gguf.path();
    }

    @Override
    public long fileSize() {
        return gguf.fileSize();
    }

    @Override
    public List<WeightTensor> tensors() {
        return List.copyOf(tensors.values());
    }

    @Override
    public Optional<WeightTensor> tensor(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    @Override
    public String describe(String name) {
        return "'" + name + "'";
    }

    @Override
    public void close() {
        gguf.close();
    }
}
