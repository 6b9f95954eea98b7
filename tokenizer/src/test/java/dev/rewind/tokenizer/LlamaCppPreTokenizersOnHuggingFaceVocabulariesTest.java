package dev.rewind.tokenizer;

import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * llama.cpp's pre-tokenizers (the GGUF path) on the vocabularies of {@code ../shared/hf}, against the ids the
 * Hugging Face library recorded for them in {@code encode.jsonl}. Each {@code tokenizer.json} is turned into the
 * {@code tokenizer.ggml.*} metadata a GGUF conversion writes (tokens by id, merges, added tokens as CONTROL),
 * with the pre-tokenizer name llama.cpp gives that model. This checks {@code deepseek-v3}, which has no suite of
 * its own in llama.cpp, against the model's real tokenizer. Qwen 3 normalizes its input to NFC before
 * pre-tokenizing and GGUF files keep no normalizer, so its texts are given in NFC.
 */
class LlamaCppPreTokenizersOnHuggingFaceVocabulariesTest {

    private record Twin(String folder, String pre, boolean nfc) {
    }

    private static final List<Twin> TWINS = List.of(
            new Twin("deepseek_v3", "deepseek-v3", false),
            new Twin("llama3", "llama-bpe", false),
            new Twin("qwen3", "qwen2", true));

    @TestFactory
    Stream<DynamicNode> plainRecordsOfEncodeJsonl() {
        return TWINS.stream().map(twin -> {
            Path folder = HuggingFaceFixturesTest.shared().resolve("hf").resolve(twin.folder());
            Tokenizer gguf = Tokenizer.fromMetadata(ggufMetadata(folder, twin.pre()));
            List<DynamicTest> cases = new ArrayList<>();
            for (JsonCursor r : HuggingFaceFixturesTest.jsonLines(folder.resolve("encode.jsonl"))) {
                if (r.get("add_special_tokens").bool()) {
                    continue; // BOS rules differ by design between the two paths; the words do not
                }
                String text = r.get("text").string();
                int[] want = HuggingFaceFixturesTest.ints(r.get("ids"));
                String input = twin.nfc() ? Normalizer.normalize(text, Normalizer.Form.NFC) : text;
                cases.add(DynamicTest.dynamicTest(HuggingFaceFixturesTest.shown(text), () -> {
                    int[] got = gguf.encode(input, false, true);
                    assertArrayEquals(want, got, () -> twin + " " + HuggingFaceFixturesTest.shown(text)
                            + "\n  expected " + Arrays.toString(want) + "\n  actual   " + Arrays.toString(got));
                }));
            }
            return DynamicContainer.dynamicContainer(twin.folder() + " as " + twin.pre(), cases);
        });
    }

    /** The metadata a GGUF conversion of this tokenizer.json would hold. */
    private static MapMetadata ggufMetadata(Path folder, String pre) {
        JsonCursor root = HuggingFaceFixturesTest.read(folder.resolve("tokenizer.json"));
        Map<Integer, String> byId = new HashMap<>();
        for (JsonCursor entry : root.get("model").get("vocab").fieldValues()) {
            byId.put(entry.integer(0, Integer.MAX_VALUE), entry.key());
        }
        Set<Integer> added = new HashSet<>();
        for (JsonCursor t : root.get("added_tokens").elements()) {
            int id = t.get("id").integer(0, Integer.MAX_VALUE);
            byId.put(id, t.get("content").string());
            added.add(id);
        }
        int size = byId.keySet().stream().mapToInt(Integer::intValue).max().orElseThrow() + 1;
        List<String> tokens = new ArrayList<>(size);
        int[] types = new int[size];
        for (int id = 0; id < size; id++) {
            tokens.add(byId.getOrDefault(id, "[PAD" + id + "]"));
            types[id] = added.contains(id) ? TokenType.CONTROL.code() : TokenType.NORMAL.code();
        }
        List<String> merges = new ArrayList<>();
        for (JsonCursor m : root.get("model").get("merges").elements()) {
            merges.add(m.isString() ? m.string() : m.elements().get(0).string() + " " + m.elements().get(1).string());
        }
        return new MapMetadata()
                .put("tokenizer.ggml.model", "gpt2")
                .put("tokenizer.ggml.pre", pre)
                .put("tokenizer.ggml.tokens", tokens)
                .put("tokenizer.ggml.token_type", types)
                .put("tokenizer.ggml.merges", merges);
    }
}
