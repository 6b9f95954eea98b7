package dev.rewind.tools;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.rewind.tools.CliTest.assertOneLineError;
import static dev.rewind.tools.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --model DIR}, {@code --quantize}, {@code convert} and {@code info} on the folders of ../shared/hf-models. */
class HuggingFaceCliTest {

    @TempDir
    Path dir;

    static Path folder(String name) {
        Path p = CliTest.shared().resolveSibling("hf-models").resolve(name);
        assertTrue(Files.isDirectory(p), "missing " + p);
        return p;
    }

    private static String generate(String model, String... more) {
        String[] base = {"generate", "--model", model, "--prompt", "Once upon a time", "-n", "12", "--temperature", "0",
                "--ignore-eos", "--output-format", "json", "--precision", "exact", "--seed", "1"};
        String[] args = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, args, base.length, more.length);
        CliTest.Run r = run(args);
        assertEquals(0, r.exit(), r.err());
        return r.out().replaceAll("\"timings\":\\{[^}]*}", "");
    }

    @Test
    void aFolderGeneratesWhatItsGgufTwinGenerates() {
        String gguf = generate(CliTest.shared().resolve("tiny-qwen2-F32.gguf").toString());
        assertEquals(gguf, generate(folder("tiny-qwen2-F32").toString()));
        String q8 = generate(CliTest.shared().resolve("tiny-qwen2-Q8_0.gguf").toString());
        assertEquals(q8, generate(folder("tiny-qwen2-F32").toString(), "--quantize", "q8_0"));
        String km = generate(CliTest.shared().resolve("tiny-qwen2-Q4_K_M.gguf").toString());
        assertEquals(km, generate(folder("tiny-qwen2-F32").toString(), "--quantize", "q4_k_m"));
    }

    @Test
    void convertWritesAFileThatGeneratesTheSame() throws IOException {
        Path out = dir.resolve("gemma.gguf");
        CliTest.Run r = run("convert", folder("tiny-gemma-F32").toString(), "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("wrote " + out), r.out());
        assertEquals(generate(CliTest.shared().resolve("tiny-gemma-F32.gguf").toString()), generate(out.toString()));
        Path k = dir.resolve("gemma-q6k.gguf");
        CliTest.Run q6 = run("convert", folder("tiny-gemma-F32").toString(), "--out", k.toString(), "--type", "q6_k");
        assertEquals(0, q6.exit(), q6.err());
        assertEquals(generate(CliTest.shared().resolve("tiny-gemma-Q6_K.gguf").toString()), generate(k.toString()));
        assertOneLineError(run("convert", folder("tiny-gemma-F32").toString(), "--out", out.toString(), "--type", "Q2_K"),
                "unknown --type 'Q2_K' (valid: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, Q4_K_M, Q5_K_M)");
    }

    @Test
    void infoAndTokenizeTakeAFolder() {
        CliTest.Run info = run("info", folder("tiny-llama-F32-sharded").toString());
        assertEquals(0, info.exit(), info.err());
        assertTrue(info.out().contains("LlamaForCausalLM, 2 shard(s)") && info.out().contains("model.layers.1.self_attn.q_proj.weight"), info.out());
        CliTest.Run tok = run("tokenize", "--model", folder("tiny-phi3-F32").toString(), "--prompt", "Once upon a time");
        assertEquals(0, tok.exit(), tok.err());
        assertEquals("[1,403,407,261,378]\n", tok.out());
    }

    @Test
    void brokenFoldersGiveOneLine() throws IOException {
        Path bad = Files.createDirectories(dir.resolve("bad"));
        Files.writeString(bad.resolve("config.json"), Files.readString(folder("tiny-llama-F32").resolve("config.json")));
        Files.write(bad.resolve("model.safetensors"), new byte[] {100, 0, 0, 0, 0, 0, 0, 0, '{'});
        assertOneLineError(run("generate", "--model", bad.toString(), "--prompt", "x"), "tokenizer.json");
        Files.copy(folder("tiny-llama-F32").resolve("tokenizer.json"), bad.resolve("tokenizer.json"));
        assertOneLineError(run("generate", "--model", bad.toString(), "--prompt", "x"),
                "model.safetensors: header length 100 runs past the end of the file", "(at byte offset 0)");
        assertOneLineError(run("generate", "--model", folder("tiny-llama-F32").toString(), "--prompt", "x", "--quantize", "Q2_K"),
                "unknown --quantize type 'Q2_K'");
    }
}
