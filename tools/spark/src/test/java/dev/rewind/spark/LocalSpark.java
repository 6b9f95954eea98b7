package dev.rewind.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.tools.RewindCli;
import org.apache.spark.sql.SparkSession;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The module's tests' one Spark session: {@code local[2,3]}, two task threads and up to three attempts of a
 * task (plain {@code local[2]} gives a task one attempt, so a killed task could not be retried), and helpers.
 */
final class LocalSpark {

    static final ObjectMapper JSON = new ObjectMapper();
    private static SparkSession spark;

    private LocalSpark() {
    }

    static synchronized SparkSession get() {
        if (spark == null) {
            spark = SparkSession.builder().master("local[2,3]").appName("rewind-spark tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "2")
                    .config("spark.plugins", RewindPlugin.class.getName())
                    .config("spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version", "2")
                    .getOrCreate();
            spark.sparkContext().setLogLevel("WARN");
        }
        return spark;
    }

    /** A model of ../shared/models; fails when the fixtures are missing. */
    static String model(String name) {
        String shared = System.getProperty("rewind.shared");
        assertTrue(shared != null, "rewind.shared is not set (run the tests through Maven)");
        Path p = Path.of(shared, "models", name);
        assertTrue(Files.isRegularFile(p), p + " is missing: the tests need ../shared");
        return p.toString();
    }

    /** What the CLI prints on stdout for {@code args} (it must succeed). */
    static String cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = RewindCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, exit, err.toString(StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The JSON lines of a file, or of every part file of a Spark output folder, by id (each id must appear once). */
    static Map<String, ObjectNode> linesById(Path fileOrFolder) {
        List<String> lines = new ArrayList<>();
        try {
            if (Files.isDirectory(fileOrFolder)) {
                try (Stream<Path> files = Files.list(fileOrFolder)) {
                    for (Path f : files.filter(f -> f.getFileName().toString().startsWith("part-")).sorted().toList()) {
                        lines.addAll(Files.readAllLines(f, StandardCharsets.UTF_8));
                    }
                }
            } else {
                lines.addAll(Files.readAllLines(fileOrFolder, StandardCharsets.UTF_8));
            }
            Map<String, ObjectNode> byId = new LinkedHashMap<>();
            for (String line : lines) {
                if (line.isBlank()) {
                    continue;
                }
                ObjectNode o = (ObjectNode) JSON.readTree(line);
                String id = o.get("id").toString();
                assertFalse(byId.containsKey(id), "the id " + id + " is in " + fileOrFolder + " twice");
                byId.put(id, o);
            }
            return byId;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A copy of {@code line} without the fields that measure time (they differ from run to run). */
    static JsonNode withoutTimes(JsonNode line) {
        JsonNode copy = line.deepCopy();
        strip(copy);
        return copy;
    }

    private static void strip(JsonNode node) {
        if (node instanceof ObjectNode o) {
            o.remove(List.of("timings", "seconds", "plain_seconds", "overhead_seconds", "upstream_seconds", "embedder_seconds"));
            o.forEach(LocalSpark::strip);
        } else if (node.isArray()) {
            node.forEach(LocalSpark::strip);
        }
    }
}
