package dev.rewind.tools.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Mutations of a Hugging Face model folder's {@code model.safetensors} and {@code config.json}: the
 * 8-byte header length (huge, zero, past the end, off by a few), the JSON header bytes (flips,
 * truncation, non-UTF-8, deep nesting, duplicate names), tensor entries (unknown or integer dtypes,
 * huge, negative, overflowing or transposed shapes, data_offsets out of range, reversed, overlapping
 * or not matching the shape, renamed or missing tensors), truncation or extension of the file, and
 * nasty hyper-parameters in config.json (zero, negative, huge, NaN, wrong types, missing keys).
 */
public final class SafetensorsMutator {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** Placeholders replaced once serialized: a value Jackson would not write. */
    private static final String DEEP = "@@deep@@";
    private static final String NAN = "@@nan@@";
    private static final String INF = "@@inf@@";
    private static final String DUP = "@@dup@@";

    /** The config.json keys the loaders read. */
    private static final String[] CONFIG_KEYS = {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
            "num_attention_heads", "num_key_value_heads", "rms_norm_eps", "rope_theta", "max_position_embeddings", "bos_token_id",
            "eos_token_id", "head_dim", "tie_word_embeddings", "rope_scaling", "model_type", "architectures", "torch_dtype",
            "hidden_act", "sliding_window", "partial_rotary_factor", "query_pre_attn_scalar", "final_logit_softcapping",
            "attn_logit_softcapping", "sliding_window_pattern", "layer_types", "rope_local_base_freq", "use_sliding_window",
            "num_local_experts", "num_experts_per_tok", "text_config", "hidden_activation",
            "type_vocab_size", "layer_norm_eps", "position_embedding_type", "is_decoder"}; // the last four: BERT's

    /** The files of one mutant folder (name to bytes) and a short description. */
    public record Mutant(Map<String, byte[]> files, String description) {
    }

    private final ObjectNode header;
    private final byte[] data;
    private final ObjectNode config;
    private final byte[] configBytes;

    /** Reads the folder's model.safetensors (single file) and config.json. */
    public SafetensorsMutator(Path folder) throws IOException {
        byte[] file = Files.readAllBytes(folder.resolve("model.safetensors"));
        long n = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        this.header = (ObjectNode) JSON.readTree(Arrays.copyOfRange(file, 8, (int) (8 + n)));
        this.data = Arrays.copyOfRange(file, (int) (8 + n), file.length);
        this.configBytes = Files.readAllBytes(folder.resolve("config.json"));
        this.config = (ObjectNode) JSON.readTree(configBytes);
    }

    /** One mutant: one to three mutations of the weights file or the config (or both). */
    public Mutant mutate(SplittableRandom random) throws IOException {
        ObjectNode h = header.deepCopy();
        ObjectNode c = config.deepCopy();
        List<String> done = new ArrayList<>();
        byte[] headerBytes = null; // set once serialized
        byte[] tail = data;
        Long lengthField = null;
        boolean configChanged = false;
        byte[] configRaw = null;
        int count = 1 + random.nextInt(3);
        for (int i = 0; i < count; i++) {
            int kind = random.nextInt(12);
            if (headerBytes != null && kind < 6) {
                kind = 6 + random.nextInt(6); // tree mutations only before the header is serialized
            }
            switch (kind) {
                case 0, 1 -> done.add(entry(h, random));
                case 2 -> done.add(offsets(h, random));
                case 3 -> done.add(names(h, random));
                case 4, 5 -> {
                    done.add(configValue(c, random));
                    configChanged = true;
                }
                case 6 -> {
                    headerBytes = headerBytes != null ? headerBytes : serialize(h);
                    long[] lengths = {0, 1, 7, Long.MAX_VALUE, -1, 1L << 40, 8L + headerBytes.length + tail.length,
                            headerBytes.length + tail.length + 1L, headerBytes.length - 1L - random.nextInt(7),
                            headerBytes.length + 1L + random.nextInt(7), 100_000_001L};
                    lengthField = lengths[random.nextInt(lengths.length)];
                    done.add("header length " + Long.toUnsignedString(lengthField));
                }
                case 7 -> {
                    headerBytes = headerBytes != null ? headerBytes : serialize(h);
                    for (int k = 0; k < 1 + random.nextInt(6); k++) {
                        int at = random.nextInt(headerBytes.length);
                        headerBytes[at] = (byte) (random.nextInt(4) == 0 ? 0x80 + random.nextInt(0x80) : random.nextInt(256));
                        done.add("header byte " + (8 + at));
                    }
                }
                case 8 -> {
                    headerBytes = headerBytes != null ? headerBytes : serialize(h);
                    int cut = random.nextInt(headerBytes.length);
                    headerBytes = Arrays.copyOf(headerBytes, cut);
                    done.add("header cut to " + cut + " bytes");
                }
                case 9 -> {
                    long cut = random.nextInt(4) == 0 ? random.nextInt(64) : random.nextInt(tail.length + 1);
                    tail = Arrays.copyOf(tail, (int) cut);
                    done.add("data cut to " + cut + " bytes");
                }
                case 10 -> {
                    int extra = 1 + random.nextInt(4096);
                    tail = Arrays.copyOf(tail, tail.length + extra);
                    done.add(extra + " bytes appended");
                }
                default -> {
                    done.add("config bytes");
                    configChanged = true;
                    byte[] raw = c.equals(config) ? configBytes.clone() : JSON.writeValueAsBytes(c);
                    if (random.nextBoolean()) {
                        raw = Arrays.copyOf(raw, random.nextInt(raw.length));
                    } else {
                        for (int k = 0; k < 1 + random.nextInt(4); k++) {
                            raw[random.nextInt(raw.length)] = (byte) random.nextInt(256);
                        }
                    }
                    c = null; // raw bytes from here on
                    configRaw = raw;
                }
            }
            if (c == null) {
                break;
            }
        }
        byte[] hb = headerBytes != null ? headerBytes : serialize(h);
        long length = lengthField != null ? lengthField : hb.length;
        byte[] file = new byte[8 + hb.length + tail.length];
        ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).putLong(0, length);
        System.arraycopy(hb, 0, file, 8, hb.length);
        System.arraycopy(tail, 0, file, 8 + hb.length, tail.length);
        byte[] cfg = c == null ? configRaw : configChanged ? serializeConfig(c) : configBytes;
        return new Mutant(Map.of("model.safetensors", file, "config.json", cfg), String.join("; ", done));
    }

    private static byte[] serialize(ObjectNode h) throws IOException {
        return expand(duplicateNames(JSON.writeValueAsString(h))).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] serializeConfig(ObjectNode c) throws IOException {
        return expand(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(c)).getBytes(StandardCharsets.UTF_8);
    }

    private static String expand(String text) {
        return text.replace("\"" + DEEP + "\"", "[".repeat(100_000) + "]".repeat(100_000))
                .replace("\"" + NAN + "\"", "NaN").replace("\"" + INF + "\"", "-Infinity");
    }

    private static JsonNode nastyNumber(SplittableRandom random) {
        return switch (random.nextInt(14)) {
            case 0 -> NODES.numberNode(0);
            case 1 -> NODES.numberNode(-1);
            case 2 -> NODES.numberNode(Integer.MAX_VALUE);
            case 3 -> NODES.numberNode(1L << 40);
            case 4 -> NODES.numberNode(new BigInteger("123456789012345678901234567890"));
            case 5 -> NODES.numberNode(1e300);
            case 6 -> NODES.numberNode(0.5);
            case 7 -> NODES.textNode(NAN);
            case 8 -> NODES.textNode(INF);
            case 9 -> NODES.numberNode(Long.MIN_VALUE);
            case 10 -> NODES.numberNode(3);
            case 11 -> NODES.numberNode(65_537);
            case 12 -> NODES.numberNode(-0.0);
            default -> NODES.numberNode(7);
        };
    }

    private static JsonNode nasty(SplittableRandom random) {
        return switch (random.nextInt(10)) {
            case 0 -> NODES.nullNode();
            case 1 -> NODES.booleanNode(random.nextBoolean());
            case 2 -> NODES.textNode("x\nFAKE: injected line\u001b[2J");
            case 3 -> NODES.objectNode();
            case 4 -> NODES.arrayNode();
            case 5 -> NODES.textNode(DEEP);
            case 6 -> NODES.textNode("a".repeat(100_000));
            case 7 -> NODES.textNode("\ud800");
            default -> nastyNumber(random);
        };
    }

    private static List<String> tensorNames(ObjectNode h) {
        List<String> names = new ArrayList<>();
        h.fieldNames().forEachRemaining(n -> {
            if (!n.equals("__metadata__")) {
                names.add(n);
            }
        });
        return names;
    }

    /** dtype, shape or a whole entry of one tensor. */
    private static String entry(ObjectNode h, SplittableRandom random) {
        List<String> names = tensorNames(h);
        String name = names.get(random.nextInt(names.size()));
        if (!(h.get(name) instanceof ObjectNode e)) {
            return "entry " + name + " not an object";
        }
        switch (random.nextInt(9)) {
            case 0 -> {
                String[] dtypes = {"I32", "I64", "U8", "I8", "BOOL", "F64", "I16", "U16", "F8_E4M3", "F8_E5M2", "Q4_0", "", "f32",
                        "F32 ", "F16", "BF16", "F32", "C64"};
                e.put("dtype", dtypes[random.nextInt(dtypes.length)]);
                return name + " dtype " + e.get("dtype");
            }
            case 1 -> {
                e.set("dtype", nasty(random));
                return name + " dtype nasty";
            }
            case 2, 3 -> {
                if (!(e.get("shape") instanceof ArrayNode shape)) {
                    return name + " has no shape";
                }
                if (shape.isEmpty()) {
                    shape.add(1);
                    return name + " shape gained a dim";
                }
                int at = random.nextInt(shape.size());
                shape.set(at, nastyNumber(random));
                return name + " shape[" + at + "] = " + shape.get(at);
            }
            case 4 -> {
                if (!(e.get("shape") instanceof ArrayNode shape) || shape.size() < 2) {
                    return name + " shape not transposable";
                }
                JsonNode a = shape.get(0);
                shape.set(0, shape.get(shape.size() - 1));
                shape.set(shape.size() - 1, a);
                return name + " shape transposed";
            }
            case 5 -> {
                if (!(e.get("shape") instanceof ArrayNode shape)) {
                    return name + " has no shape";
                }
                // same element count, other rank
                long elements = 1;
                for (JsonNode d : shape) {
                    elements *= d.asLong();
                }
                ArrayNode other = NODES.arrayNode();
                switch (random.nextInt(3)) {
                    case 0 -> other.add(elements);
                    case 1 -> other.add(1).add(elements);
                    default -> {
                        for (JsonNode d : shape) {
                            other.add(d);
                        }
                        other.add(1);
                    }
                }
                e.set("shape", other);
                return name + " shape " + other;
            }
            case 6 -> {
                String field = new String[]{"dtype", "shape", "data_offsets"}[random.nextInt(3)];
                e.remove(field);
                return name + " lost " + field;
            }
            case 7 -> {
                e.set(new String[]{"dtype", "shape", "data_offsets"}[random.nextInt(3)], nasty(random));
                return name + " field nasty";
            }
            default -> {
                h.set(name, nasty(random));
                return name + " entry nasty";
            }
        }
    }

    /** data_offsets of one tensor (or two). */
    private static String offsets(ObjectNode h, SplittableRandom random) {
        List<String> names = tensorNames(h);
        String name = names.get(random.nextInt(names.size()));
        if (!(h.get(name) instanceof ObjectNode e) || !(e.get("data_offsets") instanceof ArrayNode o) || o.size() != 2) {
            return name + " has no data_offsets";
        }
        long begin = o.get(0).asLong();
        long end = o.get(1).asLong();
        switch (random.nextInt(8)) {
            case 0 -> o.set(1, end + 1 + random.nextInt(1 << 20));
            case 1 -> {
                o.set(0, end);
                o.set(1, begin);
            }
            case 2 -> o.set(random.nextInt(2), nastyNumber(random));
            case 3 -> {
                long shift = random.nextBoolean() ? -(1 + random.nextInt(64)) : 1 + random.nextInt(64);
                o.set(0, begin + shift);
                o.set(1, end + shift);
            }
            case 4 -> {
                // overlap another tensor of the same size
                String other = names.get(random.nextInt(names.size()));
                if (h.get(other) instanceof ObjectNode oe && oe.get("data_offsets") instanceof ArrayNode oo) {
                    e.set("data_offsets", oo.deepCopy());
                    return name + " data_offsets = those of " + other;
                }
                return name + " no other";
            }
            case 5 -> o.add(end);
            case 6 -> o.remove(1);
            default -> o.set(1, begin + (end - begin) / 2);
        }
        return name + " data_offsets " + o;
    }

    /** Renamed, missing, duplicated or extra tensors, and nasty metadata. */
    private static String names(ObjectNode h, SplittableRandom random) {
        List<String> names = tensorNames(h);
        String name = names.get(random.nextInt(names.size()));
        switch (random.nextInt(6)) {
            case 0 -> {
                h.remove(name);
                return "removed " + name;
            }
            case 1 -> {
                JsonNode e = h.remove(name);
                String renamed = random.nextBoolean() ? name + "x" : name.replace("layers.0", "layers.9");
                h.set(renamed, e);
                return "renamed " + name + " to " + renamed;
            }
            case 2 -> {
                ObjectNode meta = h.putObject("__metadata__");
                meta.set("format", nasty(random));
                return "__metadata__ nasty";
            }
            case 3 -> {
                h.set("__metadata__", nasty(random));
                return "__metadata__ = nasty";
            }
            case 4 -> {
                // a duplicate name: a marked key, written twice once serialized
                JsonNode e = h.remove(name);
                h.set(name + DUP, e);
                return "duplicate name " + name;
            }
            default -> {
                ObjectNode extra = h.putObject("extra.\n\u001b[2Jtensor");
                extra.put("dtype", "F32");
                extra.putArray("shape").add(0);
                extra.putArray("data_offsets").add(0).add(0);
                return "an extra empty tensor with a control-character name";
            }
        }
    }

    /** A nasty value (or the removal) of one config.json key the loaders read. */
    private static String configValue(ObjectNode c, SplittableRandom random) {
        String key = CONFIG_KEYS[random.nextInt(CONFIG_KEYS.length)];
        if (random.nextInt(6) == 0) {
            c.remove(key);
            return "config lost " + key;
        }
        JsonNode v = random.nextInt(3) == 0 ? nasty(random) : nastyNumber(random);
        if (key.equals("model_type") && random.nextBoolean()) {
            v = NODES.textNode(new String[]{"llama", "qwen2", "gemma", "phi3", "mixtral", "gpt2", "LLAMA", "", "qwen3", "gemma2",
                    "gemma3_text", "gemma3", "bert"}[random.nextInt(13)]);
        }
        if (key.equals("architectures") && random.nextBoolean()) { // another family's class over these weights
            v = NODES.arrayNode().add(new String[]{"Qwen3ForCausalLM", "Gemma2ForCausalLM", "Gemma3ForCausalLM",
                    "Gemma3ForConditionalGeneration", "MixtralForCausalLM", "LlamaForCausalLM", "BertModel"}[random.nextInt(7)]);
        }
        c.set(key, v);
        return "config " + key + " = " + (v.isTextual() && v.asText().length() > 40 ? "long text" : v.toString());
    }

    /** Writes a folder holding the mutant's files and the base folder's tokenizer files. */
    static Path writeFolder(Path folder, Mutant mutant, Path baseFolder) throws IOException {
        Files.createDirectories(folder);
        for (Map.Entry<String, byte[]> f : mutant.files().entrySet()) {
            Files.write(folder.resolve(f.getKey()), f.getValue());
        }
        for (String name : new String[]{"tokenizer.json", "tokenizer_config.json", "generation_config.json", "modules.json",
                "sentence_bert_config.json", "1_Pooling/config.json"}) {
            Path p = baseFolder.resolve(name);
            if (Files.isRegularFile(p)) {
                Files.createDirectories(folder.resolve(name).getParent());
                Files.copy(p, folder.resolve(name));
            }
        }
        return folder;
    }

    /** Turns a {@code "NAME@@dup@@": VALUE} entry into two entries {@code "NAME": VALUE, "NAME": VALUE}. */
    private static String duplicateNames(String text) {
        int at = text.indexOf(DUP + "\":");
        if (at < 0) {
            return text;
        }
        int open = text.lastIndexOf('"', at - 1);
        String key = text.substring(open + 1, at);
        int valueStart = at + DUP.length() + 2;
        int depth = 0;
        int valueEnd = valueStart;
        while (valueEnd < text.length()) {
            char ch = text.charAt(valueEnd++);
            if (ch == '{' || ch == '[') {
                depth++;
            } else if ((ch == '}' || ch == ']') && --depth <= 0) {
                break;
            } else if (depth == 0 && (ch == ',' || ch == '}')) {
                valueEnd--;
                break;
            }
        }
        String value = text.substring(valueStart, valueEnd);
        return text.substring(0, open) + "\"" + key + "\":" + value + ",\"" + key + "\":" + value + text.substring(valueEnd);
    }
}
