package dev.rewind.tokenizer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/** In-memory tokenizer metadata for tests, with helpers to build small vocabularies. */
final class MapMetadata implements TokenizerMetadata {

    private final Map<String, Object> values = new LinkedHashMap<>();

    MapMetadata put(String key, Object value) {
        values.put(key, value);
        return this;
    }

    MapMetadata remove(String key) {
        values.remove(key);
        return this;
    }

    @Override
    public Optional<String> string(String key) {
        return get(key, String.class);
    }

    @Override
    public OptionalLong integer(String key) {
        Optional<Long> v = get(key, Long.class);
        return v.isPresent() ? OptionalLong.of(v.get()) : OptionalLong.empty();
    }

    @Override
    public Optional<Boolean> bool(String key) {
        return get(key, Boolean.class);
    }

    @Override
    @SuppressWarnings("unchecked")
    public Optional<List<String>> strings(String key) {
        return get(key, List.class).map(l -> (List<String>) l);
    }

    @Override
    public Optional<float[]> floats(String key) {
        return get(key, float[].class);
    }

    @Override
    public Optional<int[]> ints(String key) {
        return get(key, int[].class);
    }

    private <T> Optional<T> get(String key, Class<T> type) {
        Object v = values.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!type.isInstance(v)) {
            throw new IllegalArgumentException("metadata key '" + key + "' holds " + v.getClass().getSimpleName());
        }
        return Optional.of(type.cast(v));
    }

    /**
     * A SentencePiece vocabulary like tok512: {@code <unk>}, {@code <s>}, {@code </s>}, the 256 byte
     * tokens (ids 3–258), then {@code pieces} (ids from 259) with the given scores.
     */
    static MapMetadata sentencePiece(List<String> pieces, float[] pieceScores) {
        List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        List<Integer> types = new ArrayList<>(List.of(2, 3, 3));
        for (int b = 0; b < 256; b++) {
            tokens.add(String.format("<0x%02X>", b));
            types.add(6);
        }
        float[] scores = new float[tokens.size() + pieces.size()];
        for (int i = 0; i < pieces.size(); i++) {
            tokens.add(pieces.get(i));
            types.add(1);
            scores[259 + i] = pieceScores[i];
        }
        return new MapMetadata()
                .put("tokenizer.ggml.model", "llama")
                .put("tokenizer.ggml.tokens", List.copyOf(tokens))
                .put("tokenizer.ggml.scores", scores)
                .put("tokenizer.ggml.token_type", types.stream().mapToInt(Integer::intValue).toArray())
                .put("tokenizer.ggml.bos_token_id", 1L)
                .put("tokenizer.ggml.eos_token_id", 2L)
                .put("tokenizer.ggml.unknown_token_id", 0L)
                .put("tokenizer.ggml.padding_token_id", 4294967295L);
    }

    /** Id of the SentencePiece byte token for {@code b} in {@link #sentencePiece}. */
    static int byteId(int b) {
        return 3 + (b & 0xFF);
    }

    /**
     * A byte-level BPE vocabulary: the 256 byte characters in byte order (ids 0–255), then the results
     * of {@code merges} in order, then {@code specials} as CONTROL tokens.
     */
    static MapMetadata bytePair(String pre, List<String> merges, List<String> specials) {
        List<String> tokens = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(String.valueOf(ByteUnicode.encode(b)));
            types.add(1);
        }
        for (String merge : merges) {
            tokens.add(merge.replace(" ", ""));
            types.add(1);
        }
        for (String special : specials) {
            tokens.add(special);
            types.add(3);
        }
        MapMetadata m = new MapMetadata()
                .put("tokenizer.ggml.model", "gpt2")
                .put("tokenizer.ggml.tokens", List.copyOf(tokens))
                .put("tokenizer.ggml.token_type", types.stream().mapToInt(Integer::intValue).toArray())
                .put("tokenizer.ggml.merges", List.copyOf(merges));
        if (pre != null) {
            m.put("tokenizer.ggml.pre", pre);
        }
        return m;
    }

    /** Id of byte {@code b} in {@link #bytePair}. */
    static int byteChar(int b) {
        return b & 0xFF;
    }
}
