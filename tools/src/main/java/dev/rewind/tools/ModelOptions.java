package dev.rewind.tools;

import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.Precision;
import dev.rewind.models.LoadTimeQuantizer;
import dev.rewind.models.Quantization;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** The options that pick and load a model, shared by the commands that run one. */
final class ModelOptions {

    @Option(names = {"-m", "--model"}, paramLabel = "PATH",
            description = "GGUF model file, or a Hugging Face model folder (config.json, *.safetensors, tokenizer.json) (default: ${DEFAULT-VALUE}).",
            defaultValue = "${sys:rewind.home:-.}/../shared/models/stories260K.gguf")
    Path model;

    @Option(names = {"-t", "--threads"}, paramLabel = "N",
            description = "Worker threads for the matrix kernels (default: all cores).")
    Integer threads;

    @Option(names = "--precision", paramLabel = "P", defaultValue = "fast", converter = PrecisionConverter.class,
            description = {"fast (default): the fastest kernel per weight type within llama.cpp's tolerances (Q4_0 multiplied "
                    + "in 16-bit integers against 8-bit activations, as ggml does); exact: float activations against exactly "
                    + "dequantized weights (float64 parity)."})
    Precision precision;

    @Option(names = "--quantize", paramLabel = "TYPE",
            description = "Quantize F32/F16/BF16 weight matrices while loading (in memory; the files are not changed): Q8_0, Q4_0, "
                    + "Q4_K, Q5_K, Q6_K, or llama-quantize's mixtures Q4_K_M and Q5_K_M. The k-quants need rows of multiples of 256.")
    String quantize;

    private final PrintStream err;

    /** Options that report load progress on {@code err} (null: silent). */
    ModelOptions(PrintStream err) {
        this.err = err;
    }

    ModelOptions() {
        this(null);
    }

    /** Parses {@code fast} / {@code exact}, any case. */
    static final class PrecisionConverter implements picocli.CommandLine.ITypeConverter<Precision> {
        @Override
        public Precision convert(String value) {
            for (Precision p : Precision.values()) {
                if (p.name().equalsIgnoreCase(value.strip())) {
                    return p;
                }
            }
            throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not a precision (valid: fast, exact)");
        }
    }

    WorkerPool newPool() {
        int n = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (n < 1 || n > 1024) {
            throw new UserException("--threads must be between 1 and 1024, got " + n);
        }
        return new WorkerPool(n);
    }

    /**
     * Maps the model (and, for the fast precision, packs its quantized matrices). The weights are
     * not paged in ahead of use: measured, touching a 1.3 GB file before the first token cost
     * 0.7–1 s of time to first token and won nothing later.
     */
    LoadedModel load(WorkerPool pool) throws IOException {
        Path path = model.normalize();
        if (!Files.isRegularFile(path) && !Files.isDirectory(path)) {
            throw new UserException(Files.exists(path) ? path + " is neither a file nor a folder" : "no such model file: " + path);
        }
        if (quantize == null) {
            return ModelLoader.load(path, pool, precision);
        }
        Quantization type = Quantization.parse(quantize, LoadTimeQuantizer.TYPES).orElseThrow(() -> new UserException(
                "unknown --quantize type '" + quantize + "' (valid: " + Quantization.names(LoadTimeQuantizer.TYPES) + ")"));
        Progress progress = err == null ? null : new Progress(err, "quantizing to " + type, quantizable(path));
        LoadedModel loaded = ModelLoader.load(path, pool, precision, type, progress == null ? null : (name, bytes) -> progress.update(bytes));
        if (progress != null) {
            progress.done();
        }
        return loaded;
    }

    /** Bytes of the weight files, the most that quantizing can read (for the progress line). */
    private static long quantizable(Path path) throws IOException {
        if (!Files.isDirectory(path)) {
            return Files.size(path);
        }
        try (var files = Files.list(path)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).mapToLong(p -> p.toFile().length()).sum();
        }
    }
}
