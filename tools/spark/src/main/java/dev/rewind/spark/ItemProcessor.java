package dev.rewind.spark;

import dev.rewind.align.batch.BatchItem;

import java.util.List;

/**
 * One method's engine, loaded once, turning batch items into the CLI batch's result lines. Not
 * thread-safe: the {@link ModelHolder} hands it to one task at a time.
 */
public interface ItemProcessor extends AutoCloseable {

    /**
     * The result of each item, in order. A problem of an item's own (no prompt, a prompt too long for the
     * context, an upstream that fails) is that item's {@code error}, never an exception.
     */
    List<ItemResult> process(List<BatchItem> items);

    /** Releases the models and caches. */
    @Override
    void close();
}
