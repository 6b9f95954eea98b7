package dev.rewind.tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Small tokenizer folders for tests: a byte-level BPE {@code tokenizer.json} whose vocabulary is the 256 GPT-2
 * byte characters (ids 0–255, in byte order) followed by the results of the merges, in order.
 */
final class HfFiles {

    private HfFiles() {
    }

    /** The vocabulary and merges of a byte-level model: {@code "vocab": {...}, "merges": [...]}. */
    static String byteLevelModel(List<String> merges) {
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(String.valueOf(ByteUnicode.encode(b)));
        }
        for (String merge : merges) {
            tokens.add(merge.replace(" ", ""));
        }
        StringBuilder vocab = new StringBuilder("{");
        for (int i = 0; i < tokens.size(); i++) {
            vocab.append(i == 0 ? "" : ", ").append(JsonPath.quoted(tokens.get(i))).append(": ").append(i);
        }
        vocab.append('}');
        StringBuilder m = new StringBuilder("[");
        for (int i = 0; i < merges.size(); i++) {
            m.append(i == 0 ? "" : ", ").append(JsonPath.quoted(merges.get(i)));
        }
        m.append(']');
        return "\"vocab\": " + vocab + ", \"merges\": " + m;
    }

    /** A complete byte-level tokenizer.json with the given merges, added tokens JSON array and extra top-level fields. */
    static String byteLevel(List<String> merges, String addedTokens, String extra) {
        return "{\"version\": \"1.0\", \"added_tokens\": " + addedTokens + ","
                + " \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true},"
                + " \"decoder\": {\"type\": \"ByteLevel\"},"
                + " \"model\": {\"type\": \"BPE\", " + byteLevelModel(merges) + "}"
                + (extra.isEmpty() ? "" : ", " + extra) + "}";
    }

    /** One added token. */
    static String added(int id, String content, boolean special, String flags) {
        return "{\"id\": " + id + ", \"content\": " + JsonPath.quoted(content) + ", \"special\": " + special
                + (flags.isEmpty() ? "" : ", " + flags) + "}";
    }

    /** Writes a folder with tokenizer.json and, unless null, tokenizer_config.json. */
    static Path folder(Path dir, String tokenizerJson, String configJson) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson, StandardCharsets.UTF_8);
            if (configJson != null) {
                Files.writeString(dir.resolve("tokenizer_config.json"), configJson, StandardCharsets.UTF_8);
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
