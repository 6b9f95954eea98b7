package dev.rewind.spark;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.align.batch.BatchInput;
import dev.rewind.align.batch.BatchItem;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.rewind.spark.LocalSpark.JSON;
import static dev.rewind.spark.LocalSpark.linesById;
import static dev.rewind.spark.LocalSpark.model;
import static dev.rewind.spark.LocalSpark.withoutTimes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The job's guarantees on local[2]: exactly once per id through a killed task, resumption, one model load per executor. */
class SparkJobRunTest {

    @TempDir
    Path dir;

    private final ByteArrayOutputStream log = new ByteArrayOutputStream();
    private final PrintStream err = new PrintStream(log, true, StandardCharsets.UTF_8);

    private Path prompts(String name, int from, int to) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = from; i < to; i++) {
            lines.add("{\"id\": " + i + ", \"prompt\": \"Lily saw a " + (i % 2 == 0 ? "cat" : "bird") + " " + i + "\"}");
        }
        Path in = dir.resolve(name);
        Files.write(in, lines, StandardCharsets.UTF_8);
        return in;
    }

    private static JobSpec generate(String maxTokens) {
        return new JobSpec(Method.GENERATE, List.of("--model", model("stories260K.gguf"), "-n", maxTokens, "--seed", "2", "--threads", "2"), 4)
                .checked();
    }

    @Test
    void aTaskKilledMidPartitionIsRetriedAndEachIdIsWrittenOnce() throws IOException {
        Path in = prompts("in.jsonl", 0, 20);
        JobSpec spec = generate("6");
        Path clean = dir.resolve("clean");
        RewindSparkJob.runFiles(LocalSpark.get(), spec, in.toString(), clean.toString(), 2, err);

        Path out = dir.resolve("killed");
        Path marker = dir.resolve("killed-once");
        RewindSparkJob.Plan plan = RewindSparkJob.plan(LocalSpark.get(), spec, in.toString(), out.toString(), 2, err);
        String markerPath = marker.toString();
        // the first attempt of partition 0 dies at its 4th result, after its first rows went to its attempt file
        Dataset<Row> dying = plan.results().mapPartitions(new KillOnce(markerPath), Encoders.row(plan.results().schema()));
        RewindSparkJob.Summary s = RewindSparkJob.write(new RewindSparkJob.Plan(dying, plan.items(), plan.skipped(), plan.progress(),
                plan.start()), out.toString());

        assertTrue(Files.exists(marker), "the task was not killed");
        Map<String, ObjectNode> lines = linesById(out); // fails on an id written twice
        assertEquals(20, lines.size());
        assertEquals(20, s.done(), "the killed attempt's accumulator updates are dropped");
        Map<String, ObjectNode> expected = linesById(clean);
        for (String id : expected.keySet()) {
            assertEquals(withoutTimes(expected.get(id)), withoutTimes(lines.get(id)), id);
        }
    }

    /** Kills the first attempt of partition 0 at its 4th result row (once: a marker file remembers it). */
    private record KillOnce(String marker) implements MapPartitionsFunction<Row, Row> {
        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            boolean kill = TaskContext.get().partitionId() == 0;
            return new Iterator<>() {
                private int seen;

                @Override
                public boolean hasNext() {
                    return rows.hasNext();
                }

                @Override
                public Row next() {
                    Row r = rows.next();
                    if (kill && ++seen == 4 && !Files.exists(Path.of(marker))) {
                        try {
                            Files.createFile(Path.of(marker));
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                        throw new IllegalStateException("killed mid-partition (test)");
                    }
                    return r;
                }
            };
        }
    }

    @Test
    void aRerunSkipsTheIdsAlreadyDoneAndDropsAKilledJobsAttemptFiles() throws IOException {
        JobSpec spec = generate("5");
        Path out = dir.resolve("out");
        RewindSparkJob.Summary first = RewindSparkJob.runFiles(LocalSpark.get(), spec, prompts("half.jsonl", 0, 10).toString(), out.toString(), 2, err);
        assertEquals(10, first.done());
        // what a driver killed between task and job commit leaves: an attempt folder holding an id of the other half
        Path stale = Files.createDirectories(out.resolve("_temporary/0/task_202612010000_0001_m_000000"));
        Files.writeString(stale.resolve("part-00000-stale.txt"), "{\"id\": 15, \"prompt\": \"stale\"}\n");

        RewindSparkJob.Summary second = RewindSparkJob.runFiles(LocalSpark.get(), spec, prompts("all.jsonl", 0, 20).toString(), out.toString(), 2, err);
        assertEquals(20, second.items());
        assertEquals(10, second.skipped());
        assertEquals(10, second.done());
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("resuming " + out + ": 10 items done"), log.toString(StandardCharsets.UTF_8));
        assertFalse(Files.exists(out.resolve("_temporary")));
        Map<String, ObjectNode> lines = linesById(out);
        assertEquals(20, lines.size());
        assertEquals("Lily saw a bird 15", lines.get("15").get("prompt").asText());

        RewindSparkJob.Summary third = RewindSparkJob.runFiles(LocalSpark.get(), spec, prompts("all.jsonl", 0, 20).toString(), out.toString(), 2, err);
        assertEquals(20, third.skipped());
        assertEquals(0, third.done());
        assertEquals(20, linesById(out).size());
    }

    @Test
    void anExecutorLoadsTheModelsOnceForAllItsTasks() throws IOException {
        JobSpec spec = generate("3");
        Path in = prompts("in.jsonl", 0, 20);
        long before = ModelHolder.loads();
        RewindSparkJob.Summary s = RewindSparkJob.runFiles(LocalSpark.get(), spec, in.toString(), dir.resolve("a").toString(), 5, err);
        assertEquals(20, s.done());
        assertEquals(1, s.loads(), "5 tasks on 2 task threads of one executor");
        assertEquals(before + 1, ModelHolder.loads());

        RewindSparkJob.Summary again = RewindSparkJob.runFiles(LocalSpark.get(), spec, in.toString(), dir.resolve("b").toString(), 3, err);
        assertEquals(0, again.loads(), "a later job of the same spec reuses the executor's models");
        assertEquals(before + 1, ModelHolder.loads());

        assertTrue(ModelHolder.open() >= 1);
        new RewindPlugin().executorPlugin().shutdown();
        assertEquals(0, ModelHolder.open());
        RewindSparkJob.Summary after = RewindSparkJob.runFiles(LocalSpark.get(), spec, in.toString(), dir.resolve("c").toString(), 2, err);
        assertEquals(1, after.loads());
    }

    @Test
    void theInputRuleIsTheCliBatchRule() throws IOException {
        byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
        String text = "{\"id\": \"a\", \"prompt\": \"x\"}\n"
                + "\n   \r\n"
                + "{\"id\": 1, \"prompt\": \"x\"}\r\n"
                + "{\"id\": \"1\", \"prompt\": \"x\"}\n"
                + "{\"id\": 1.5}\n"
                + "{\"id\": true}\n"
                + "{\"id\": \"line:3\"}\n"
                + "{\"id\": \"a\"}\n"
                + "{\"prompt\": \"no id\"}\n"
                + "{\"id\": null}\n"
                + "{\"id\": 2} trailing\n"
                + "{\"id\": 3, \"id\": 4}\n"
                + "[1]\n"
                + "{\"id\": 7, \"prompt\": \"bad \u0000\"}\n"
                + "{\"id\": 8, \"prompt\": \"caf\u00e9\"}";
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        byte[] bad = "\n{\"id\": 9, \"prompt\": \"\u00ff\"}".getBytes(StandardCharsets.ISO_8859_1); // 0xFF is never UTF-8
        byte[] all = new byte[bom.length + body.length + bad.length];
        System.arraycopy(bom, 0, all, 0, bom.length);
        System.arraycopy(body, 0, all, bom.length, body.length);
        System.arraycopy(bad, 0, all, bom.length + body.length, bad.length);
        Path in = dir.resolve("tricky.jsonl");
        Files.write(in, all);

        Map<Integer, String> cli = new LinkedHashMap<>();
        try (BatchInput input = BatchInput.open(in)) {
            for (BatchItem item = input.next(); item != null; item = input.next()) {
                cli.put(item.line(), item.id() + " " + (item instanceof BatchItem.Bad b ? b.problem() : "ok"));
            }
        }
        Map<Integer, String> spark = new LinkedHashMap<>();
        for (Row r : RewindSparkJob.readItems(LocalSpark.get(), in.toString()).collectAsList()) {
            spark.put(r.getInt(0), r.getString(1) + " " + (r.isNullAt(3) ? "ok" : r.getString(3)));
        }
        assertEquals(new java.util.TreeMap<>(cli), new java.util.TreeMap<>(spark));
        assertTrue(spark.get(17).contains("not valid UTF-8: byte 0xFF at byte offset"), spark.get(17));
    }

    @Test
    void theDatasetFunctionGivesTheLinesFieldsAsTypedColumns() throws IOException {
        StructType schema = new StructType().add("id", DataTypes.LongType).add("prompt", DataTypes.StringType);
        Dataset<Row> input = LocalSpark.get().createDataFrame(List.of(RowFactory.create(7L, "Lily saw a cat 7"),
                RowFactory.create(8L, "Tom ran"), RowFactory.create(9L, null)), schema);
        List<Row> rows = RewindSparkJob.apply(input, generate("6")).orderBy("id").collectAsList();
        assertEquals(3, rows.size());
        Row first = rows.getFirst();
        assertEquals(7L, first.<Long>getAs("id"));
        assertEquals(6, first.getList(first.fieldIndex("tokens")).size());
        String expected = LocalSpark.cli("generate", "--model", model("stories260K.gguf"), "-n", "6", "--seed", "2", "--threads", "2",
                "--prompt", "Lily saw a cat 7", "--output-format", "json");
        assertEquals(JSON.readTree(expected).get("text").asText(), first.getAs("text"));
        assertEquals("the row has no string \"prompt\"", rows.get(2).getAs("error"));
    }

    @Test
    void aModelThatCannotBeLoadedFailsTheJobWithItsName() {
        JobSpec spec = new JobSpec(Method.GENERATE, List.of("--model", dir.resolve("no-such.gguf").toString(), "--seed", "1"), 4).checked();
        Exception e = assertThrows(Exception.class, () -> RewindSparkJob.runFiles(LocalSpark.get(), spec,
                prompts("in.jsonl", 0, 3).toString(), dir.resolve("out").toString(), 1, err));
        Throwable t = e;
        while (t != null && !(t instanceof JobException)) {
            t = t.getCause();
        }
        assertTrue(t != null, "no JobException in " + e);
        assertEquals("generate: no such model file: " + dir.resolve("no-such.gguf"), t.getMessage());
    }

    @Test
    void badArgumentsAreOneLineBeforeAnySparkSessionStarts() {
        assertOneLine(2, "rewind-spark: give --method generate|rain|dera|aligner", "--input", "a", "--output", "b");
        assertOneLine(2, "rewind-spark: unknown --method 'nope' (valid: generate, rain, dera, aligner)", "--method", "nope", "--input", "a",
                "--output", "b");
        assertOneLine(1, "rewind-spark: generate: give --model PATH, a path every executor can read (a job has no default model)",
                "--method", "generate", "--seed", "1", "--input", "a", "--output", "b");
        assertOneLine(1, "rewind-spark: generate: --prompt is not a job flag", "--method", "generate", "--model", "m.gguf", "--prompt", "x",
                "--input", "a", "--output", "b");
        assertOneLine(1, "rewind-spark: rain: --param takes NAME=VALUE, got 'maxSearches'", "--method", "rain", "--model", "m.gguf",
                "--param", "maxSearches", "--input", "a", "--output", "b");
        assertOneLine(2, "rewind-spark: --rows-per-forward must be a whole number >= 1, got '0'", "--method", "dera", "--rows-per-forward", "0",
                "--input", "a", "--output", "b");
    }

    private static void assertOneLine(int exit, String start, String... args) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int code = RewindSparkJob.run(args, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(exit, code, text);
        assertTrue(text.startsWith(start), text);
        assertFalse(text.contains("\tat "), text);
    }
}
