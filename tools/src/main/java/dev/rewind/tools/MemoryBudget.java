package dev.rewind.tools;

import com.sun.management.OperatingSystemMXBean;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.kv.PagePool;
import dev.rewind.models.TransformerConfig;

import java.lang.management.ManagementFactory;

/** Refuses, before allocating, a KV cache that cannot fit in this machine's memory. */
final class MemoryBudget {

    private MemoryBudget() {
    }

    /**
     * Checks that the KV cache for {@code context} tokens (in pages of {@code pageSize}, as the pool
     * rounds it up) plus the model's weights fit in 90 % of the
     * machine's physical memory (the cache is zeroed on allocation, so every byte of it is touched).
     *
     * @throws UserException naming the bytes needed and the memory there is
     */
    static void checkKvCache(TransformerConfig config, int context, int pageSize, KvType type, long weightBytes) {
        long needed = PagePool.bytesFor(config.layers(), config.kvDim(), pageSize, context, type);
        long total = ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
        if (total > 0 && needed + weightBytes > total / 10 * 9) {
            throw new UserException(String.format("a KV cache for %d tokens needs %.1f GiB beside %.1f GiB of weights, "
                    + "more than this machine's %.1f GiB of memory allows; lower --context",
                    context, needed / GIB, weightBytes / GIB, total / GIB));
        }
    }

    private static final double GIB = 1024.0 * 1024 * 1024;
}
