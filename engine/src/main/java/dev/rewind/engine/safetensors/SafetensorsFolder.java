package dev.rewind.engine.safetensors;

import dev.rewind.tokenizer.JsonCursor;
import dev.rewind.tokenizer.JsonReader;
import dev.rewind.tokenizer.TokenizerException;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The weights of a Hugging Face model folder: {@code model.safetensors}, or the shards that
 * {@code model.safetensors.index.json} lists in its {@code weight_map}. Each shard is mapped once;
 * a tensor's data is a view of its shard's mapping. A name in two shards, a tensor the index puts
 * in a shard that lacks it, or a shard name leaving the folder is refused.
 */
public final class SafetensorsFolder implements AutoCloseable {

    /** The single-file name. */
    public static final String SINGLE = "model.safetensors";
    /** The index of a sharded folder. */
    public static final String INDEX = "model.safetensors.index.json";

    /** Far more than any index (a few hundred KB for the largest models); a larger one is refused before it is read. */
    static final long MAX_INDEX_BYTES = 64L << 20;

    private final Path dir;
    private final List<SafetensorsFile> shards;
    private final Map<String, SafetensorsTensor> tensors;
    private final Map<String, SafetensorsFile> owners;

    private SafetensorsFolder(Path dir, List<SafetensorsFile> shards, Map<String, SafetensorsTensor> tensors,
                              Map<String, SafetensorsFile> owners) {
        this.dir = dir;
        this.shards = List.copyOf(shards);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.owners = owners;
    }

    /** True when {@code dir} holds {@value #SINGLE} or {@value #INDEX}. */
    public static boolean isSafetensorsFolder(Path dir) {
        return Files.isRegularFile(dir.resolve(SINGLE)) || Files.isRegularFile(dir.resolve(INDEX));
    }

    /**
     * Maps every shard of {@code dir} and checks them.
     *
     * @throws SafetensorsFormatException when a file or the index is malformed or they disagree
     * @throws IOException                when a file cannot be read
     */
    public static SafetensorsFolder open(Path dir) throws IOException {
        Path index = dir.resolve(INDEX);
        List<String> shardNames;
        Map<String, String> weightMap = null;
        if (Files.isRegularFile(index)) {
            weightMap = weightMap(index);
            shardNames = weightMap.values().stream().distinct().sorted().toList();
        } else if (Files.isRegularFile(dir.resolve(SINGLE))) {
            shardNames = List.of(SINGLE);
        } else {
            throw new SafetensorsFormatException(dir, null, 0, "neither " + SINGLE + " nor " + INDEX + " is in this folder");
        }
        List<SafetensorsFile> shards = new ArrayList<>();
        try {
            Map<String, SafetensorsTensor> tensors = new LinkedHashMap<>();
            Map<String, SafetensorsFile> owners = new LinkedHashMap<>();
            for (String name : shardNames) {
                if (!Files.isRegularFile(dir.resolve(name))) {
                    throw new SafetensorsFormatException(index, null, 0, "weight_map names shard " + name + ", which is not in the folder");
                }
                SafetensorsFile shard = SafetensorsFile.open(dir.resolve(name));
                shards.add(shard);
                for (SafetensorsTensor t : shard.tensors()) {
                    SafetensorsFile other = owners.putIfAbsent(t.name(), shard);
                    if (other != null) {
                        throw new SafetensorsFormatException(shard.path(), t.name(), t.fileOffset(),
                                "the name is also in " + other.path().getFileName());
                    }
                    tensors.put(t.name(), t);
                }
            }
            if (weightMap != null) {
                for (Map.Entry<String, String> e : weightMap.entrySet()) {
                    SafetensorsFile owner = owners.get(e.getKey());
                    if (owner == null || !owner.path().getFileName().toString().equals(e.getValue())) {
                        throw new SafetensorsFormatException(index, e.getKey(), 0, "weight_map puts it in " + e.getValue()
                                + (owner == null ? ", but no shard has it" : ", but it is in " + owner.path().getFileName()));
                    }
                }
            }
            return new SafetensorsFolder(dir, shards, tensors, owners);
        } catch (IOException | RuntimeException e) {
            shards.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static Map<String, String> weightMap(Path index) throws IOException {
        String file = index.getFileName().toString();
        try {
            JsonCursor root = JsonCursor.root(JsonReader.parse(JsonReader.readUtf8(index, file, MAX_INDEX_BYTES), file), file);
            Map<String, String> out = new LinkedHashMap<>();
            for (JsonCursor entry : root.get("weight_map").fieldValues()) {
                String shard = entry.string();
                if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.equals(".") || shard.equals("..")) {
                    throw entry.error("shard '" + shard + "' is not a file name in this folder");
                }
                out.put(entry.key(), shard);
            }
            if (out.isEmpty()) {
                throw root.get("weight_map").error("lists no tensors");
            }
            return out;
        } catch (TokenizerException e) {
            throw new SafetensorsFormatException(index.getParent(), null, 0, e.getMessage());
        }
    }

    /** The folder. */
    public Path dir() {
        return dir;
    }

    /** The mapped shards, sorted by file name. */
    public List<SafetensorsFile> shards() {
        return shards;
    }

    /** Every tensor, shard by shard in header order. */
    public List<SafetensorsTensor> tensors() {
        return List.copyOf(tensors.values());
    }

    public Optional<SafetensorsTensor> tensor(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** The tensor's bytes, a view of its shard's mapping. */
    public MemorySegment tensorData(SafetensorsTensor t) {
        SafetensorsFile owner = owners.get(t.name());
        if (owner == null || owner.tensor(t.name()).orElse(null) != t) {
            throw new IllegalArgumentException("tensor '" + t.name() + "' is not one of this folder's");
        }
        return owner.tensorData(t);
    }

    /** The shard file holding {@code t}. */
    public Path tensorPath(SafetensorsTensor t) {
        SafetensorsFile owner = owners.get(t.name());
        if (owner == null) {
            throw new IllegalArgumentException("tensor '" + t.name() + "' is not one of this folder's");
        }
        return owner.path();
    }

    /** Total bytes of all shards. */
    public long fileSize() {
        return shards.stream().mapToLong(SafetensorsFile::fileSize).sum();
    }

    /** Unmaps every shard. */
    @Override
    public void close() {
        shards.forEach(SafetensorsFile::close);
    }
}
