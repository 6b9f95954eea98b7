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
     * Checks that the KV cache for {@code tokens} tokens (in pages of {@code pageSize}, as the pool
     * rounds it up) plus the model's weights fit in 90 % of the
     * machine's physical memory (the cache is zeroed on allocation, so every byte of it is touched).
     *
     * @param remedy what the refusal tells the user to do, naming the flag that set the size (e.g.
     *               {@code "lower --kv-capacity"} when that flag was given, else {@code "lower --context"})
     * @throws UserException naming the bytes needed, the memory there is and the remedy
     */
    static void checkKvCache(TransformerConfig config, int tokens, int pageSize, KvType type, long weightBytes, String remedy) {
        long total = ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
        // In floating point first: layers × width × tokens can overflow a long for sizes no file could back.
        double estimate = 2.0 * Math.ceilDiv(tokens, pageSize) * pageSize * config.layers() * config.kvDim() * type.bytes();
        double needed = estimate < 0x1p62 ? PagePool.bytesFor(config.layers(), config.kvDim(), pageSize, tokens, type) : estimate;
        if (total > 0 && needed + weightBytes > total / 10 * 9) {
            throw new UserException(String.format("a KV cache for %d tokens needs %.1f GiB beside %.1f GiB of weights, "
                    + "more than this machine's %.1f GiB of memory allows; %s",
                    tokens, needed / GIB, weightBytes / GIB, total / GIB, remedy));
        }
    }

    private static final double GIB = 1024.0 * 1024 * 1024;
}
