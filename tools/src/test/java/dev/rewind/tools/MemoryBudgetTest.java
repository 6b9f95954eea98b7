package dev.rewind.tools;

import dev.rewind.engine.kv.KvType;
import dev.rewind.models.Rope;
import dev.rewind.models.TransformerConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryBudgetTest {

    /** Llama-3-8B's attention shape: 32 layers, 8 KV heads of 128. */
    private static final TransformerConfig LLAMA_8B = new TransformerConfig("llama", 4096, 32, 32, 8, 128, 14336,
            128256, 131072, 1e-5f, new Rope(128, 500000, 1, null, Rope.Style.ADJACENT));

    @Test
    void aFullLengthCacheOfAnEightBillionModelIsRefusedBeforeAllocating() {
        // 32 layers × 1024 floats × 2 (K and V) × 4 bytes = 256 KiB per token: 131072 tokens need 32 GiB
        UserException e = assertThrows(UserException.class, () -> MemoryBudget.checkKvCache(LLAMA_8B, 131072, 16, KvType.F32, 5L << 30, "lower --context"));
        assertTrue(e.getMessage().contains("--context") && e.getMessage().contains("32.0 GiB"), e.getMessage());
    }

    @Test
    void theCheckCountsWholePagesOfTheChosenSize() {
        // 65537 tokens are 16.0 GiB in pages of 16, but pages of 65536 positions round them up to
        // 131072 tokens: the pool would allocate 32.0 GiB, and that is what must be checked
        UserException e = assertThrows(UserException.class,
                () -> MemoryBudget.checkKvCache(LLAMA_8B, 65537, 65536, KvType.F32, 5L << 30, "lower --context"));
        assertTrue(e.getMessage().contains("32.0 GiB"), e.getMessage());
    }

    @Test
    void theRefusalNamesTheFlagThatSizedTheCache() {
        UserException e = assertThrows(UserException.class,
                () -> MemoryBudget.checkKvCache(LLAMA_8B, Integer.MAX_VALUE, 4096, KvType.F32, 5L << 30, "lower --kv-capacity"));
        assertTrue(e.getMessage().endsWith("lower --kv-capacity"), e.getMessage());
    }

    @Test
    void sizesNoFileCouldBackDoNotOverflow() {
        TransformerConfig huge = new TransformerConfig("llama", 1 << 24, 1 << 24, 1 << 24, 1 << 24, 1 << 6, 1 << 24,
                512, 1 << 24, 1e-5f, new Rope(64, 10000, 1, null, Rope.Style.ADJACENT));
        UserException e = assertThrows(UserException.class,
                () -> MemoryBudget.checkKvCache(huge, Integer.MAX_VALUE, 4096, KvType.F32, 0, "lower --context"));
        assertTrue(e.getMessage().matches(".* needs \\d[\\d.]* GiB .*"), "no negative size: " + e.getMessage());
    }

    @Test
    void anOrdinaryContextPasses() {
        assertDoesNotThrow(() -> MemoryBudget.checkKvCache(LLAMA_8B, 4096, 16, KvType.F32, 5L << 30, "lower --context"));
    }
}
