package dev.rewind.spark;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.align.batch.BatchItem;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * The executor's side of a job: a partition's item rows, a few at a time ({@link JobSpec#rowsPerForward}),
 * through the executor's engine ({@link ModelHolder}), to result rows: {@code id} (its JSON text) and
 * {@code json} (the result line). Results stream out as groups finish, so a long partition does not
 * hold its results in memory.
 */
final class ProcessPartition implements MapPartitionsFunction<Row, Row> {

    /** The schema of result rows. */
    static final StructType SCHEMA = new StructType(new StructField[]{
            DataTypes.createStructField("id", DataTypes.StringType, false),
            DataTypes.createStructField("json", DataTypes.StringType, false)});

    private final JobSpec spec;
    private final JobProgress progress;

    ProcessPartition(JobSpec spec, JobProgress progress) {
        this.spec = spec;
        this.progress = progress;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) {
        ObjectMapper json = new ObjectMapper();
        ArrayDeque<Row> ready = new ArrayDeque<>();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                while (ready.isEmpty() && input.hasNext()) {
                    List<BatchItem> group = new ArrayList<>();
                    while (group.size() < spec.rowsPerForward() && input.hasNext()) {
                        group.add(InputRows.item(input.next(), json));
                    }
                    long start = System.nanoTime();
                    List<ItemResult> results;
                    try (ModelHolder.Lease lease = ModelHolder.acquire(spec)) {
                        if (lease.loaded()) {
                            progress.loaded();
                        }
                        results = lease.processor().process(group);
                    }
                    progress.seconds((System.nanoTime() - start) / 1e9);
                    for (ItemResult r : results) {
                        progress.item(r);
                        try {
                            ready.add(RowFactory.create(r.id().toString(), json.writeValueAsString(r.line())));
                        } catch (JsonProcessingException e) {
                            throw new UncheckedIOException(e);
                        }
                    }
                }
                return !ready.isEmpty();
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return ready.poll();
            }
        };
    }
}
