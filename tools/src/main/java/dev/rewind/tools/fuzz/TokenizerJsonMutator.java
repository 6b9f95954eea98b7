package dev.rewind.tools.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Mutations of a Hugging Face {@code tokenizer.json}: any value outside the vocabulary and merges
 * replaced by a nasty one (null, another type, huge or negative numbers, control characters, deep
 * nesting) or removed; vocabulary ids duplicated, negative or far beyond the size; merges cut or made of
 * unknown pieces; and byte flips or truncation of the serialized text.
 */
public final class TokenizerJsonMutator {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** A placeholder for a value nested deeper than Jackson would write. */
    private static final String DEEP = "@@deep@@";
    private static final byte[] DEEP_QUOTED = ("\"" + DEEP + "\"").getBytes(StandardCharsets.US_ASCII);

    private final ObjectNode base;

    public TokenizerJsonMutator(Path tokenizerJson) throws IOException {
        this.base = (ObjectNode) JSON.readTree(tokenizerJson.toFile());
    }

    /** The mutated file's bytes and a short description. */
    public GgufMutator.Mutant mutate(SplittableRandom random) throws IOException {
        ObjectNode tree = base.deepCopy();
        List<String> done = new ArrayList<>();
        int count = 1 + random.nextInt(3);
        for (int i = 0; i < count; i++) {
            switch (random.nextInt(5)) {
                case 0, 1 -> done.add(replaceValue(tree, random));
                case 2 -> done.add(vocabulary(tree, random));
                case 3 -> done.add(merges(tree, random));
                default -> {
                    byte[] bytes = deepen(JSON.writeValueAsBytes(tree));
                    if (random.nextBoolean()) {
                        int cut = random.nextInt(bytes.length);
                        done.add("cut at " + cut);
                        return new GgufMutator.Mutant(Arrays.copyOf(bytes, cut), String.join("; ", done));
                    }
                    for (int k = 0; k < 1 + random.nextInt(8); k++) {
                        int at = random.nextInt(bytes.length);
                        bytes[at] = (byte) random.nextInt(256);
                        done.add("byte " + at);
                    }
                    return new GgufMutator.Mutant(bytes, String.join("; ", done));
                }
            }
        }
        return new GgufMutator.Mutant(deepen(JSON.writeValueAsBytes(tree)), String.join("; ", done));
    }

    /** The serialized tree with each deep placeholder replaced by arrays nested 100,000 deep. */
    private static byte[] deepen(byte[] bytes) {
        String text = new String(bytes, StandardCharsets.UTF_8);
        String quoted = new String(DEEP_QUOTED, StandardCharsets.US_ASCII);
        if (!text.contains(quoted)) {
            return bytes;
        }
        return text.replace(quoted, "[".repeat(100_000) + "]".repeat(100_000)).getBytes(StandardCharsets.UTF_8);
    }

    private static JsonNode nasty(SplittableRandom random) {
        return switch (random.nextInt(16)) {
            case 0 -> NODES.nullNode();
            case 1 -> NODES.booleanNode(random.nextBoolean());
            case 2 -> NODES.numberNode(-1);
            case 3 -> NODES.numberNode(Integer.MAX_VALUE);
            case 4 -> NODES.numberNode(new BigInteger("123456789012345678901234567890"));
            case 5 -> NODES.numberNode(1e300);
            case 6 -> NODES.textNode("");
            case 7 -> NODES.textNode("x\nFAKE: injected line\u001b[2J");
            case 8 -> NODES.textNode("[unclosed(regex");
            case 9 -> NODES.objectNode();
            case 10 -> NODES.arrayNode();
            case 11 -> NODES.textNode(DEEP); // replaced by 100,000 nested arrays once serialized
            case 12 -> NODES.textNode("a".repeat(100_000));
            case 13 -> NODES.numberNode(0.5);
            case 14 -> NODES.textNode("BPE");
            default -> NODES.textNode("\ud800");
        };
    }

    /** Replaces or removes a random value outside model.vocab and model.merges. */
    private static String replaceValue(ObjectNode tree, SplittableRandom random) {
        List<Object[]> slots = new ArrayList<>(); // {container, key or index, path}
        collect(tree, "", slots);
        Object[] slot = slots.get(random.nextInt(slots.size()));
        JsonNode container = (JsonNode) slot[0];
        boolean remove = random.nextInt(5) == 0;
        if (container instanceof ObjectNode o) {
            if (remove) {
                o.remove((String) slot[1]);
            } else {
                o.set((String) slot[1], nasty(random));
            }
        } else if (container instanceof ArrayNode a) {
            if (remove) {
                a.remove((Integer) slot[1]);
            } else {
                a.set((Integer) slot[1], nasty(random));
            }
        }
        return (remove ? "removed " : "replaced ") + slot[2];
    }

    private static void collect(JsonNode node, String path, List<Object[]> slots) {
        if (node instanceof ObjectNode o) {
            for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String p = path + "." + e.getKey();
                slots.add(new Object[]{o, e.getKey(), p});
                if (!p.equals(".model.vocab") && !p.equals(".model.merges")) {
                    collect(e.getValue(), p, slots);
                }
            }
        } else if (node instanceof ArrayNode a) {
            for (int i = 0; i < a.size(); i++) {
                String p = path + "[" + i + "]";
                slots.add(new Object[]{a, i, p});
                collect(a.get(i), p, slots);
            }
        }
    }

    private static String vocabulary(ObjectNode tree, SplittableRandom random) {
        if (!(tree.path("model").path("vocab") instanceof ObjectNode vocab) || vocab.isEmpty()) {
            return "no vocab";
        }
        List<String> keys = new ArrayList<>();
        vocab.fieldNames().forEachRemaining(keys::add);
        String key = keys.get(random.nextInt(keys.size()));
        return switch (random.nextInt(5)) {
            case 0 -> {
                vocab.remove(key);
                yield "vocab lost " + key;
            }
            case 1 -> {
                vocab.set(key, vocab.get(keys.get(random.nextInt(keys.size()))));
                yield "vocab id repeated";
            }
            case 2 -> {
                long[] ids = {-1, keys.size(), Integer.MAX_VALUE, 1L << 40, 16_777_217};
                vocab.put(key, ids[random.nextInt(ids.length)]);
                yield "vocab id of " + key + " = " + vocab.get(key);
            }
            case 3 -> {
                vocab.set(key, nasty(random));
                yield "vocab value of " + key + " nasty";
            }
            default -> {
                vocab.put("", keys.size());
                yield "empty piece";
            }
        };
    }

    private static String merges(ObjectNode tree, SplittableRandom random) {
        if (!(tree.path("model").path("merges") instanceof ArrayNode merges) || merges.isEmpty()) {
            return "no merges";
        }
        int at = random.nextInt(merges.size());
        switch (random.nextInt(4)) {
            case 0 -> {
                while (merges.size() > at) {
                    merges.remove(merges.size() - 1);
                }
                return "merges cut to " + at;
            }
            case 1 -> {
                merges.set(at, NODES.textNode(new String[]{"", " ", "a b c", "nosuchpiece zz", "x"}[random.nextInt(5)]));
                return "merge " + at + " garbage";
            }
            case 2 -> {
                merges.set(at, nasty(random));
                return "merge " + at + " nasty";
            }
            default -> {
                ArrayNode pair = merges.arrayNode().add("\u2581").add(random.nextBoolean() ? "zz-unknown" : "");
                merges.set(at, pair);
                return "merge " + at + " as an array";
            }
        }
    }

    /** Writes a model folder holding the mutant as tokenizer.json (and the base folder's tokenizer_config.json). */
    static Path writeFolder(Path folder, byte[] tokenizerJson, Path baseFolder) throws IOException {
        Files.createDirectories(folder);
        Files.write(folder.resolve("tokenizer.json"), tokenizerJson);
        Path config = baseFolder.resolve("tokenizer_config.json");
        if (Files.isRegularFile(config)) {
            Files.copy(config, folder.resolve("tokenizer_config.json"));
        }
        return folder;
    }
}
