package dev.rewind.tools.fuzz;

import dev.rewind.engine.gguf.GgufValue;
import dev.rewind.engine.gguf.GgufValueType;
import dev.rewind.engine.gguf.GgufWriter;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.models.bert.BertEmbedder;
import dev.rewind.tools.RewindCli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The BERT target: mutants of the bundled all-MiniLM-L6-v2 ONNX file ({@link OnnxMutator}, with the
 * bundled tokenizer.json beside it) and of a small GGUF file of llama.cpp's {@code bert} architecture
 * written here ({@link GgufMutator}), each run through {@code rewind embed} in-process. Clean: the
 * text is embedded, or a one-line refusal that names the file.
 */
final class BertFuzz {

    private final Path folder;
    private final OnnxMutator onnx;
    private final GgufMutator gguf;

    private BertFuzz(Path folder, OnnxMutator onnx, GgufMutator gguf) {
        this.folder = folder;
        this.onnx = onnx;
        this.gguf = gguf;
    }

    /** Reads the bundled MiniLM and writes the small GGUF bert base; {@code work} holds the mutants. */
    static BertFuzz load(Path work) throws IOException {
        Path folder = Files.createDirectories(work.resolve("bert"));
        Files.write(folder.resolve("tokenizer.json"), resource("/all-minilm-l6-v2-tokenizer.json"));
        Path base = folder.resolve("base.gguf");
        writeSmallBert(base);
        GgufMutator gguf = new GgufMutator(GgufImage.parse(Files.readAllBytes(base)));
        Files.delete(base);
        return new BertFuzz(folder, new OnnxMutator(resource("/all-minilm-l6-v2.onnx")), gguf);
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = BertEmbedder.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("classpath:" + name + " not found (the MiniLM artifact is not on the class path)");
            }
            return in.readAllBytes();
        }
    }

    /** A two-layer BERT 8 wide with a 120-token WordPiece vocabulary and seeded weights. */
    private static void writeSmallBert(Path path) throws IOException {
        int hidden = 8, heads = 2, layers = 2, ffn = 16, positions = 32, types = 2;
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            tokens.add(switch (i) {
                case 0 -> "[PAD]";
                case 100 -> "[UNK]";
                case 101 -> "[CLS]";
                case 102 -> "[SEP]";
                case 103 -> "[MASK]";
                case 104 -> "\u2581hello";
                case 105 -> "\u2581world";
                case 106 -> "s";
                case 107 -> "\u2581,";
                default -> "\u2581t" + i;
            });
        }
        SplittableRandom random = new SplittableRandom(1);
        GgufWriter out = GgufWriter.create();
        out.metadata("general.architecture", new GgufValue.Str("bert"));
        out.metadata("general.name", new GgufValue.Str("fuzz-bert"));
        out.metadata("bert.embedding_length", new GgufValue.Int(GgufValueType.UINT32, hidden));
        out.metadata("bert.block_count", new GgufValue.Int(GgufValueType.UINT32, layers));
        out.metadata("bert.attention.head_count", new GgufValue.Int(GgufValueType.UINT32, heads));
        out.metadata("bert.feed_forward_length", new GgufValue.Int(GgufValueType.UINT32, ffn));
        out.metadata("bert.context_length", new GgufValue.Int(GgufValueType.UINT32, positions));
        out.metadata("bert.attention.layer_norm_epsilon", new GgufValue.Real(GgufValueType.FLOAT32, 1e-12));
        out.metadata("bert.pooling_type", new GgufValue.Int(GgufValueType.UINT32, 1));
        out.metadata("tokenizer.ggml.model", new GgufValue.Str("bert"));
        out.metadata("tokenizer.ggml.tokens", new GgufValue.StrArray(tokens));
        out.metadata("tokenizer.ggml.unknown_token_id", new GgufValue.Int(GgufValueType.UINT32, 100));
        out.metadata("tokenizer.ggml.cls_token_id", new GgufValue.Int(GgufValueType.UINT32, 101));
        out.metadata("tokenizer.ggml.seperator_token_id", new GgufValue.Int(GgufValueType.UINT32, 102));
        tensor(out, "token_embd.weight", random, hidden, tokens.size());
        tensor(out, "position_embd.weight", random, hidden, positions);
        tensor(out, "token_types.weight", random, hidden, types);
        tensor(out, "token_embd_norm.weight", random, hidden);
        tensor(out, "token_embd_norm.bias", random, hidden);
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            for (String m : new String[]{"attn_q", "attn_k", "attn_v", "attn_output"}) {
                tensor(out, p + m + ".weight", random, hidden, hidden);
                tensor(out, p + m + ".bias", random, hidden);
            }
            tensor(out, p + "ffn_up.weight", random, hidden, ffn);
            tensor(out, p + "ffn_up.bias", random, ffn);
            tensor(out, p + "ffn_down.weight", random, ffn, hidden);
            tensor(out, p + "ffn_down.bias", random, hidden);
            for (String n : new String[]{"attn_output_norm", "layer_output_norm"}) {
                tensor(out, p + n + ".weight", random, hidden);
                tensor(out, p + n + ".bias", random, hidden);
            }
        }
        out.write(path);
    }

    private static void tensor(GgufWriter out, String name, SplittableRandom random, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        ByteBuffer b = ByteBuffer.allocate((int) n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putFloat((float) (random.nextDouble() - 0.5));
        }
        out.tensor(name, GgmlType.F32, shape, b.array());
    }

    Outcome run(long caseSeed, String[] input, Path keep) throws IOException {
        SplittableRandom random = new SplittableRandom(caseSeed);
        boolean isOnnx = random.nextInt(3) != 0;
        GgufMutator.Mutant mutant = isOnnx ? onnx.mutate(random) : gguf.mutate(random);
        Path file = folder.resolve(isOnnx ? "model.onnx" : "model.gguf");
        input[0] = (isOnnx ? "all-MiniLM-L6-v2.onnx: " : "fuzz-bert.gguf: ") + mutant.description();
        Files.write(file, mutant.bytes());
        try {
            if (keep != null) {
                Files.copy(file, keep, StandardCopyOption.REPLACE_EXISTING);
            }
            String[] args = {"embed", "--model", file.toString(), "--text", "hello world, hellos", "--threads", "1"};
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int exit = RewindCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
            Outcome o = Fuzzer.classify(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
            if (o instanceof Outcome.CleanError e && !e.message().contains(file.toString())) {
                return new Outcome.Unclean("a refusal that does not name the file: " + e.message());
            }
            return o;
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
