package dev.rewind.models;

import dev.rewind.engine.gguf.GgufValue;
import dev.rewind.engine.gguf.GgufValueType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.Precision;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whatever a file asks for that Rewind does not do is refused at load, in one line naming the key
 * (or tensor) and its value: an unknown architecture, rope scaling type or expert gating function,
 * shared experts, experts outside llama files, soft-capping outside Gemma 2/3, half of LongRoPE,
 * value heads of another size than key heads.
 */
class FamilyRefusalTest {

    static WorkerPool pool;
    @TempDir
    Path dir;

    @BeforeAll
    static void startPool() {
        pool = new WorkerPool(1);
    }

    @AfterAll
    static void stopPool() {
        pool.close();
    }

    private static GgufValue u32(long v) {
        return new GgufValue.Int(GgufValueType.UINT32, v);
    }

    private static GgufValue f32(double v) {
        return new GgufValue.Real(GgufValueType.FLOAT32, v);
    }

    /** Loads {@code file} and returns the refusal's message, checking it is one line naming every part of {@code named}. */
    private static String refused(Path file, String... named) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(file, pool, Precision.EXACT).close());
        String message = e.getMessage();
        assertTrue(!message.contains("\n"), "one line: " + message);
        for (String part : named) {
            assertTrue(message.contains(part), "the message should name '" + part + "': " + message);
        }
        return message;
    }

    private Path llama(String name, GgufEdit edit) throws IOException {
        return edit.write(dir.resolve(name + ".gguf"));
    }

    @Test
    void anUnknownArchitectureIsNamed() throws IOException {
        Path f = llama("mamba", GgufEdit.of(SharedData.model("tiny-llama-F32.gguf")).set("general.architecture", new GgufValue.Str("mamba")));
        refused(f, "'mamba'", "not supported", "gemma3");
    }

    @Test
    void anUnknownRopeScalingTypeIsNamedWithItsKey() throws IOException {
        Path f = llama("yarn", GgufEdit.of(SharedData.model("tiny-llama-F32.gguf"))
                .set("llama.rope.scaling.type", new GgufValue.Str("yarn")).set("llama.rope.scaling.factor", f32(4)));
        refused(f, "llama.rope.scaling.type", "'yarn'");
    }

    @Test
    void anotherExpertGatingFunctionIsRefused() throws IOException {
        Path f = llama("sigmoid", GgufEdit.of(SharedData.model("tiny-mixtral-F32.gguf")).set("llama.expert_gating_func", u32(2)));
        refused(f, "llama.expert_gating_func", "= 2", "softmax");
    }

    @Test
    void sharedExpertsAreRefused() throws IOException {
        Path f = llama("shared", GgufEdit.of(SharedData.model("tiny-mixtral-F32.gguf")).set("llama.expert_shared_count", u32(1)));
        refused(f, "llama.expert_shared_count", "= 1");
    }

    @Test
    void moreExpertsUsedThanThereAreIsRefused() throws IOException {
        Path f = llama("used", GgufEdit.of(SharedData.model("tiny-mixtral-F32.gguf")).set("llama.expert_used_count", u32(5)));
        refused(f, "llama.expert_used_count", "5", "llama.expert_count", "4");
    }

    @Test
    void unnormalisedExpertWeightsAreRefused() throws IOException {
        Path f = llama("norm", GgufEdit.of(SharedData.model("tiny-mixtral-F32.gguf"))
                .set("llama.expert_weights_norm", new GgufValue.Bool(false)));
        refused(f, "llama.expert_weights_norm", "false");
    }

    @Test
    void expertsOutsideLlamaFilesAreRefused() throws IOException {
        Path f = llama("qwen3moe", GgufEdit.of(SharedData.model("tiny-qwen3-F32.gguf"))
                .set("qwen3.expert_count", u32(8)).set("qwen3.expert_used_count", u32(2)));
        refused(f, "qwen3.expert_count", "= 8", "llama");
    }

    @Test
    void softCappingOutsideGemmaIsRefused() throws IOException {
        Path f = llama("cap", GgufEdit.of(SharedData.model("tiny-llama-F32.gguf")).set("llama.final_logit_softcapping", f32(30)));
        refused(f, "llama.final_logit_softcapping");
    }

    @Test
    void halfOfLongRopeIsRefused() throws IOException {
        Path f = llama("long", GgufEdit.of(SharedData.model("tiny-phi3-F32.gguf")).vector("rope_factors_long.weight", ones(16)));
        refused(f, "rope_factors_long.weight", "rope_factors_short.weight");
    }

    @Test
    void longRopeOutsidePhi3IsRefused() throws IOException {
        Path f = llama("llamalong", GgufEdit.of(SharedData.model("tiny-llama-F32.gguf"))
                .vector("rope_factors_long.weight", ones(16)).vector("rope_factors_short.weight", ones(16)));
        refused(f, "rope_factors_long.weight", "phi3", "llama");
    }

    @Test
    void aValueHeadOfAnotherSizeIsRefused() throws IOException {
        Path f = llama("vlen", GgufEdit.of(SharedData.model("tiny-qwen3-F32.gguf")).set("qwen3.attention.value_length", u32(32)));
        refused(f, "qwen3.attention.value_length", "32", "64");
    }

    @Test
    void gemma3WithoutSlidingWindowIsRefused() throws IOException {
        Path f = llama("nowin", GgufEdit.of(SharedData.model("tiny-gemma3-F32.gguf")).remove("gemma3.attention.sliding_window"));
        refused(f, "gemma3.attention.sliding_window", "missing");
    }

    @Test
    void aNegativeSoftCapIsRefused() throws IOException {
        Path f = llama("negcap", GgufEdit.of(SharedData.model("tiny-gemma2-F32.gguf")).set("gemma2.attn_logit_softcapping", f32(-1)));
        refused(f, "gemma2.attn_logit_softcapping", "-1");
    }

    @Test
    void aFileThatIsNotAModelIsRefusedByItsType() throws IOException {
        Path f = llama("adapter", GgufEdit.of(SharedData.model("tiny-llama-F32.gguf")).set("general.type", new GgufValue.Str("adapter")));
        refused(f, "general.type", "'adapter'");
    }

    @Test
    void nonCausalAttentionIsRefused() throws IOException {
        Path f = llama("causal", GgufEdit.of(SharedData.model("tiny-qwen3-F32.gguf")).set("qwen3.attention.causal", new GgufValue.Bool(false)));
        refused(f, "qwen3.attention.causal", "false");
    }

    @Test
    void clampingOfQKVIsRefused() throws IOException {
        Path f = llama("clamp", GgufEdit.of(SharedData.model("tiny-llama-F32.gguf")).set("llama.attention.clamp_kqv", f32(8)));
        refused(f, "llama.attention.clamp_kqv", "8");
    }

    @Test
    void scaledExpertWeightsAreRefused() throws IOException {
        Path f = llama("wscale", GgufEdit.of(SharedData.model("tiny-mixtral-F32.gguf")).set("llama.expert_weights_scale", f32(2.5)));
        refused(f, "llama.expert_weights_scale", "2.5");
    }

    @Test
    void expertsUsedWithoutExpertsAreRefused() throws IOException {
        Path f = llama("usedonly", GgufEdit.of(SharedData.model("tiny-llama-F32.gguf")).set("llama.expert_used_count", u32(2)));
        refused(f, "llama.expert_used_count", "2", "llama.expert_count", "missing");
    }

    @Test
    void anUnknownRopeScalingIsRefusedInEveryFamily() throws IOException {
        for (String[] c : new String[][]{{"tiny-qwen2-F32.gguf", "qwen2", "yarn"}, {"tiny-gemma3-F32.gguf", "gemma3", "yarn"},
                {"tiny-phi3-F32.gguf", "phi3", "longrope"}, {"tiny-qwen3-F32.gguf", "qwen3", "dynamic"}}) {
            Path f = llama(c[1] + "-" + c[2], GgufEdit.of(SharedData.model(c[0])).set(c[1] + ".rope.scaling.type", new GgufValue.Str(c[2])));
            refused(f, c[1] + ".rope.scaling.type", "'" + c[2] + "'");
        }
    }

    @Test
    void anUnknownArchitectureIsNamedWhateverTheFileHolds() throws IOException {
        for (String arch : new String[]{"gemma3n", "qwen3moe", "deepseek2", "bert"}) {
            Path f = llama(arch, GgufEdit.of(SharedData.model("tiny-gemma3-F32.gguf")).set("general.architecture", new GgufValue.Str(arch)));
            refused(f, "architecture '" + arch + "'", "not supported");
        }
    }

    static float[] ones(int n) {
        float[] f = new float[n];
        java.util.Arrays.fill(f, 1f);
        return f;
    }
}
