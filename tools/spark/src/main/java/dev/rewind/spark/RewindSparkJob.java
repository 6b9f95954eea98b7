package dev.rewind.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.rewind.engine.text.Escape;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.mapreduce.lib.input.TextInputFormat;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.from_json;
import static org.apache.spark.sql.functions.min;

/**
 * The Rewind batch methods as a Spark job.
 *
 * <p>From the command line ({@code spark-submit --class dev.rewind.spark.RewindSparkJob rewind-spark.jar}, or the
 * launcher {@code tools/rewind-spark}): {@code --method generate|rain|dera|aligner [that method's rewind flags]
 * --input PATH --output DIR}. The input is JSONL as the CLI batches read it, on any file system Spark
 * reads; DIR is a folder of JSONL part files holding the CLI batch's line for each item, exactly once per
 * id. A run over an existing DIR skips the ids already there.
 *
 * <p>From a program: {@link #apply} over a {@code Dataset<Row>} of {@code id} and the method's input
 * columns, or {@link #runFiles} for the file-to-folder job.
 */
public final class RewindSparkJob {

    /**
     * How a file-to-folder run went.
     *
     * @param items   items in the input
     * @param skipped items already in the output before this run
     * @param done    items done in this run (with or without an error)
     * @param failed  of those, items whose line carries an error
     * @param tokens  tokens the engines evaluated
     * @param seconds wall time of the run
     * @param loads   model loads over all executors
     */
    public record Summary(long items, long skipped, long done, long failed, long tokens, double seconds, long loads) {
        /** Items per second of wall time in this run. */
        public double rowsPerSecond() {
            return seconds > 0 ? done / seconds : 0;
        }
    }

    private RewindSparkJob() {
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintStream(System.err, true, StandardCharsets.UTF_8)));
    }

    /** Runs the command line; returns the exit code (0 done, 1 bad input or a failed job, 2 bad usage, 3 internal error). */
    public static int run(String[] args, PrintStream err) {
        Arguments a;
        try {
            a = Arguments.parse(args);
        } catch (JobException e) {
            err.println(Escape.visible("rewind-spark: " + e.getMessage()));
            err.println("usage: rewind-spark [--master URL] --method generate|rain|dera|aligner [the method's rewind flags]"
                    + " --input FILE.jsonl --output DIR [--partitions N] [--rows-per-forward N]");
            return 2;
        }
        try {
            JobSpec spec = a.spec().seeded().checked();
            if (spec.flags().size() > a.flags().size()) {
                err.println("rewind-spark: " + spec.flags().getLast() + " (give --seed S to choose the seed)");
            }
            SparkSession.Builder builder = SparkSession.builder().appName("rewind " + spec.method().command())
                    .config("spark.plugins", RewindPlugin.class.getName())
                    // a finished task's part file lands in DIR at once, so a killed job keeps what it finished
                    .config("spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version", "2");
            if (a.master() != null) {
                builder.master(a.master());
            }
            SparkSession spark = builder.getOrCreate();
            try {
                spark.sparkContext().setLogLevel("WARN");
                Summary s = runFiles(spark, spec, a.input(), a.output(), a.partitions(), err);
                err.printf(Locale.ROOT, "rewind-spark: %d items: %d done in this run, %d skipped (done before), %d failed; %d tokens; "
                                + "%.1f s, %.2f items/s; models loaded %d times%n", s.items(), s.done(), s.skipped(), s.failed(), s.tokens(),
                        s.seconds(), s.rowsPerSecond(), s.loads());
            } finally {
                spark.stop();
                ModelHolder.closeAll();
            }
            return 0;
        } catch (JobException e) {
            err.println(Escape.visible("rewind-spark: " + e.getMessage()));
            return 1;
        } catch (Exception e) { // Spark throws its SparkException (checked) without declaring it
            JobException cause = jobCause(e);
            if (cause != null) {
                err.println(Escape.visible("rewind-spark: " + cause.getMessage()));
                return 1;
            }
            if (System.getenv("REWIND_DEBUG") != null) {
                e.printStackTrace(err);
            }
            String first = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            err.println(Escape.visible("rewind-spark: the job failed: " + e.getClass().getSimpleName() + ": " + Escape.excerpt(first, 300)
                    + " (set REWIND_DEBUG=1 for the stack trace)"));
            return 3;
        }
    }

    private static JobException jobCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof JobException j) {
                return j;
            }
        }
        return null;
    }

    /**
     * A file-to-folder run ready to write: the result rows of the items of the input not yet in the output.
     *
     * @param results  result rows ({@code id}, {@code json}), computed when written
     * @param items    items in the input
     * @param skipped  items already in the output
     * @param progress the run's accumulators
     * @param start    when the run started ({@link System#nanoTime})
     */
    public record Plan(Dataset<Row> results, long items, long skipped, JobProgress progress, long start) {
    }

    /**
     * The file-to-folder job: the items of {@code input} (JSONL) not yet in {@code output} through the method,
     * their lines appended to {@code output} with Spark's output commit protocol (a task's file is committed
     * once, whatever its attempts), so each id is there exactly once.
     *
     * @param partitions how many tasks share the items (0: Spark's default parallelism)
     * @throws JobException for an unreadable input or an output that is not this job's
     */
    public static Summary runFiles(SparkSession spark, JobSpec spec, String input, String output, int partitions, PrintStream err) {
        return write(plan(spark, spec, input, output, partitions, err), output);
    }

    /**
     * The first half of {@link #runFiles}: reads the input and the ids already in {@code output}, and plans the
     * rest. A {@code _temporary} folder in {@code output} (the uncommitted attempts of a job that was killed) is
     * removed, so none of its files can be merged into this run's.
     */
    public static Plan plan(SparkSession spark, JobSpec spec, String input, String output, int partitions, PrintStream err) {
        long start = System.nanoTime();
        JobProgress progress = new JobProgress(spark.sparkContext());
        Dataset<Row> items = readItems(spark, input).cache();
        long total = items.count();
        Dataset<Row> todo = items;
        long skipped = 0;
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        try {
            Path out = new Path(output);
            FileSystem fs = out.getFileSystem(hadoop);
            if (fs.exists(out)) {
                if (!fs.getFileStatus(out).isDirectory()) {
                    throw new JobException(output + " is a file; --output names a folder (of JSONL part files)");
                }
                Path stale = new Path(out, "_temporary");
                if (fs.exists(stale)) {
                    err.println(Escape.visible("rewind-spark: removing " + stale + ", left by a job that did not finish"));
                    fs.delete(stale, true);
                }
                Dataset<Row> done = doneIds(spark, output);
                todo = items.join(done, items.col("id").equalTo(done.col("done_id")), "left_anti");
                skipped = total - todo.count();
                if (skipped > 0) {
                    err.println(Escape.visible("rewind-spark: resuming " + output + ": " + skipped + " items done"));
                }
            }
        } catch (IOException e) {
            throw new JobException("cannot read " + output + ": " + e.getMessage());
        }
        int n = partitions > 0 ? partitions : spark.sparkContext().defaultParallelism();
        return new Plan(results(todo.repartition(n, col("id")), spec, progress), total, skipped, progress, start);
    }

    /** The second half of {@link #runFiles}: computes the plan's results and appends them to {@code output}. */
    public static Summary write(Plan plan, String output) {
        plan.results().select("json").write().mode(SaveMode.Append).text(output);
        JobProgress p = plan.progress();
        return new Summary(plan.items(), plan.skipped(), p.items(), p.failed(), p.tokens(), (System.nanoTime() - plan.start()) / 1e9, p.loads());
    }

    /**
     * The items of a JSONL input (a file, or a folder of files read in name order), by the CLI batches' rules:
     * every non-blank line is one row (see {@link InputRows}), and a line repeating an earlier line's id is a
     * problem row under its own {@code "line:N"}.
     */
    public static Dataset<Row> readItems(SparkSession spark, String input) {
        Configuration conf = new Configuration(spark.sparkContext().hadoopConfiguration());
        conf.set("textinputformat.record.delimiter", "\n"); // a line ends at \n alone, as the CLI reads it
        try {
            Path in = new Path(input);
            if (!in.getFileSystem(conf).exists(in)) {
                throw new JobException("no such input: " + input);
            }
        } catch (IOException e) {
            throw new JobException("cannot read " + input + ": " + e.getMessage());
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        JavaRDD<Tuple2<Long, byte[]>> lines = jsc.newAPIHadoopFile(input, TextInputFormat.class, LongWritable.class, Text.class, conf)
                .map(t -> new Tuple2<>(t._1().get(), Arrays.copyOf(t._2().getBytes(), t._2().getLength())));
        JavaRDD<Row> rows = lines.zipWithIndex()
                .map(t -> InputRows.parse((int) (t._2() + 1), t._1()._1(), t._1()._2(), t._1()._2().length))
                .filter(r -> r != null);
        Dataset<Row> parsed = spark.createDataFrame(rows, InputRows.SCHEMA);
        Dataset<Row> withFirst = parsed.withColumn("first", min(col("line")).over(Window.partitionBy(col("id"))));
        return withFirst.map((MapFunction<Row, Row>) r -> {
            int line = r.getInt(0);
            int first = r.getInt(4);
            if (line == first) {
                return RowFactory.create(line, r.getString(1), r.isNullAt(2) ? null : r.getString(2), r.isNullAt(3) ? null : r.getString(3));
            }
            return InputRows.problem(line, InputRows.repeatProblem(line, r.getString(1), first));
        }, Encoders.row(InputRows.SCHEMA));
    }

    /** The ids (as JSON text, column {@code done_id}) of the result lines in {@code output}. */
    private static Dataset<Row> doneIds(SparkSession spark, String output) {
        StructType schema = new StructType().add("done_id", DataTypes.StringType, false);
        return spark.read().textFile(output).map((MapFunction<String, Row>) line -> {
            JsonNode id = line.isBlank() ? null : new ObjectMapper().readTree(line).get("id");
            if (id == null) {
                throw new JobException("a line of " + output + " is not a result line (no \"id\"): " + Escape.excerpt(line, 80)
                        + "; --output must be this job's own folder");
            }
            return RowFactory.create(id.toString());
        }, Encoders.row(schema));
    }

    /**
     * The core of the job: item rows ({@link InputRows#SCHEMA}) to result rows, {@code id} (the id's JSON text)
     * and {@code json} (the CLI batch's line for the item), each partition through its executor's engine.
     */
    public static Dataset<Row> results(Dataset<Row> items, JobSpec spec, JobProgress progress) {
        return items.mapPartitions(new ProcessPartition(spec, progress), Encoders.row(ProcessPartition.SCHEMA));
    }

    /**
     * The method over a Dataset: {@code input} has an {@code id} column (a string or an integer type) and the
     * method's input columns ({@code prompt}, or {@code question} and an optional {@code answer}); the result
     * has {@code id} (as the input's), the fields of the CLI batch's lines as typed columns
     * ({@link Method#resultSchema}) and {@code json}, the line itself. Rows are processed as given: make
     * their ids unique.
     *
     * @throws JobException when a column is missing or of another type, or the flags are bad
     */
    public static Dataset<Row> apply(Dataset<Row> input, JobSpec spec) {
        spec.checked();
        StructType schema = input.schema();
        List<String> columns = new ArrayList<>(List.of("id"));
        columns.addAll(spec.method().inputs());
        DataType idType = null;
        for (String c : columns) {
            if (!Arrays.asList(schema.fieldNames()).contains(c)) {
                if (c.equals("answer")) {
                    continue;
                }
                throw new JobException("the input has no \"" + c + "\" column (it has " + String.join(", ", schema.fieldNames()) + ")");
            }
            DataType t = schema.apply(c).dataType();
            if (c.equals("id")) {
                if (!(t == DataTypes.StringType || t == DataTypes.LongType || t == DataTypes.IntegerType || t == DataTypes.ShortType)) {
                    throw new JobException("the \"id\" column must be a string or an integer, not " + t.simpleString());
                }
                idType = t;
            } else if (t != DataTypes.StringType) {
                throw new JobException("the \"" + c + "\" column must be a string, not " + t.simpleString());
            }
        }
        List<String> present = columns.stream().filter(c -> Arrays.asList(schema.fieldNames()).contains(c)).toList();
        Dataset<Row> items = input.select(present.stream().map(c -> col(c)).toArray(org.apache.spark.sql.Column[]::new))
                .map((MapFunction<Row, Row>) RewindSparkJob::itemRow, Encoders.row(InputRows.SCHEMA));
        JobProgress progress = new JobProgress(input.sparkSession().sparkContext());
        Dataset<Row> results = results(items, spec, progress);
        DataType fields = DataType.fromDDL("id " + idType.sql() + ", " + spec.method().resultSchema());
        return results.select(from_json(col("json"), fields).alias("r"), col("json")).select("r.*", "json");
    }

    /** A Dataset row (id first, then the method's columns) as an item row. */
    private static Row itemRow(Row r) {
        ObjectMapper json = new ObjectMapper();
        Object id = r.get(0);
        JsonNode idNode = switch (id) {
            case null -> null;
            case String s -> TextNode.valueOf(s);
            case Long l -> LongNode.valueOf(l);
            case Integer i -> IntNode.valueOf(i);
            case Short s -> IntNode.valueOf(s);
            default -> TextNode.valueOf(id.toString());
        };
        if (idNode == null) {
            return RowFactory.create(0, "null", null, "the row has no id (the \"id\" column is null)");
        }
        ObjectNode item = json.createObjectNode();
        item.set("id", idNode);
        for (int i = 1; i < r.size(); i++) {
            String name = r.schema().fieldNames()[i];
            if (!r.isNullAt(i)) {
                item.put(name, r.getString(i));
            }
        }
        return RowFactory.create(0, idNode.toString(), item.toString(), null);
    }

    /** The job's own flags, and the method's. */
    record Arguments(String master, Method method, List<String> flags, String input, String output, int partitions, int rowsPerForward) {

        JobSpec spec() {
            return new JobSpec(method, flags, rowsPerForward);
        }

        static Arguments parse(String[] args) {
            String master = null;
            String method = null;
            String input = null;
            String output = null;
            int partitions = 0;
            int rows = JobSpec.DEFAULT_ROWS_PER_FORWARD;
            List<String> flags = new ArrayList<>();
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                String name = arg.contains("=") && arg.startsWith("--") ? arg.substring(0, arg.indexOf('=')) : arg;
                boolean ours = switch (name) {
                    case "--master", "--method", "--input", "--output", "--partitions", "--rows-per-forward" -> true;
                    default -> false;
                };
                if (!ours) {
                    flags.add(arg);
                    continue;
                }
                String value;
                if (!name.equals(arg)) {
                    value = arg.substring(name.length() + 1);
                } else if (i + 1 < args.length) {
                    value = args[++i];
                } else {
                    throw new JobException(name + " needs a value");
                }
                switch (name) {
                    case "--master" -> master = value;
                    case "--method" -> method = value;
                    case "--input" -> input = value;
                    case "--output" -> output = value;
                    case "--partitions" -> partitions = positive(name, value);
                    default -> rows = positive(name, value);
                }
            }
            if (method == null) {
                throw new JobException("give --method generate|rain|dera|aligner");
            }
            if (input == null || output == null) {
                throw new JobException("give --input FILE.jsonl and --output DIR");
            }
            return new Arguments(master, Method.named(method), flags, input, output, partitions, rows);
        }

        private static int positive(String name, String value) {
            try {
                int n = Integer.parseInt(value.strip());
                if (n >= 1) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new JobException(name + " must be a whole number >= 1, got '" + value + "'");
        }
    }

    /** A random seed for a job that gave none: chosen once in the driver, so every executor and retry draws alike. */
    static long randomSeed() {
        return new SecureRandom().nextLong();
    }
}
