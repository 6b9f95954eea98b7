package dev.rewind.tools;

import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.Precision;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The options that pick and load a model, shared by the commands that run one. */
final class ModelOptions {

    @Option(names = {"-m", "--model"}, paramLabel = "PATH",
            description = "GGUF model file (default: ${DEFAULT-VALUE}).",
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
        if (!Files.isRegularFile(path)) {
            throw new UserException(Files.exists(path) ? path + " is not a regular file" : "no such model file: " + path);
        }
        return ModelLoader.load(path, pool, precision);
    }
}
