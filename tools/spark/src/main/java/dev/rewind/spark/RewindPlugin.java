package dev.rewind.spark;

import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.SparkPlugin;

/**
 * Closes the executor's loaded models when it shuts down: set {@code spark.plugins=dev.rewind.spark.RewindPlugin}
 * (the job's own main does). Without it the JVM's shutdown hook closes them.
 */
public final class RewindPlugin implements SparkPlugin {

    @Override
    public DriverPlugin driverPlugin() {
        return null;
    }

    @Override
    public ExecutorPlugin executorPlugin() {
        return new ExecutorPlugin() {
            @Override
            public void shutdown() {
                ModelHolder.closeAll();
            }
        };
    }
}
