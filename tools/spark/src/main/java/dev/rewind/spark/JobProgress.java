package dev.rewind.spark;

import org.apache.spark.SparkContext;
import org.apache.spark.util.DoubleAccumulator;
import org.apache.spark.util.LongAccumulator;

import java.io.Serializable;

/**
 * A job's progress and cost as named accumulators, shown in Spark's UI on every stage and task: items
 * done and failed, tokens evaluated, seconds spent in the engine, and model loads (one per executor and
 * spec). Only successful task attempts count: Spark drops the updates of a failed or killed attempt.
 */
public final class JobProgress implements Serializable {

    private final LongAccumulator items;
    private final LongAccumulator failed;
    private final LongAccumulator tokens;
    private final DoubleAccumulator seconds;
    private final LongAccumulator loads;

    /** Registers the accumulators with {@code spark}. */
    public JobProgress(SparkContext spark) {
        this.items = spark.longAccumulator("rewind items");
        this.failed = spark.longAccumulator("rewind failed items");
        this.tokens = spark.longAccumulator("rewind tokens");
        this.seconds = spark.doubleAccumulator("rewind engine seconds");
        this.loads = spark.longAccumulator("rewind model loads");
    }

    void item(ItemResult r) {
        items.add(1);
        failed.add(r.failed() ? 1 : 0);
        tokens.add(r.tokens());
    }

    void seconds(double s) {
        seconds.add(s);
    }

    void loaded() {
        loads.add(1);
    }

    /** Items done (with or without an error). */
    public long items() {
        return items.value();
    }

    /** Items whose line carries an error. */
    public long failed() {
        return failed.value();
    }

    /** Tokens the engines evaluated. */
    public long tokens() {
        return tokens.value();
    }

    /** Seconds the engines spent, over all tasks. */
    public double seconds() {
        return seconds.value();
    }

    /** How many times an executor loaded the models. */
    public long loads() {
        return loads.value();
    }
}
