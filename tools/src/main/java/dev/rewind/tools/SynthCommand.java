package dev.rewind.tools;

import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.models.SyntheticModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code rewind synth}: write a model with random weights in the shape of a known one. */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = {"Write a GGUF model with random weights in the shape of a known model, for benchmarks and tests.",
                "It loads in Rewind and llama.cpp; its vocabulary is byte-level, so any text tokenizes.",
                "The same arguments always give the same file, written atomically."})
final class SynthCommand implements Callable<Integer> {

    @Option(names = "--arch", required = true, paramLabel = "ARCH", completionCandidates = Architectures.class,
            description = "Architecture: ${COMPLETION-CANDIDATES} (mixtral: a llama file with 8 experts, 2 used; "
                    + "phi3 with Phi-3.5's LongRoPE factors). Every architecture takes every shape.")
    String arch;

    @Option(names = "--shape", required = true, paramLabel = "NAME", completionCandidates = Shapes.class,
            description = "Shape: ${COMPLETION-CANDIDATES} (llama-1b is Llama-3.2-1B, llama-8b Llama-3.1-8B, qwen3-0.6b Qwen3-0.6B, "
                    + "gemma3-1b Gemma-3-1B, gemma2-2b Gemma-2-2B, phi3.5-mini Phi-3.5-mini-instruct; tiny is for tests).")
    String shape;

    @Option(names = "--type", required = true, paramLabel = "TYPE", completionCandidates = Types.class,
            description = "Type of every weight matrix: ${COMPLETION-CANDIDATES} (norm weights stay F32); "
                    + "Q4_K_M and Q5_K_M are llama-quantize's mixtures (Q6_K output, Q6_K attn_v/ffn_down in some layers).")
    String type;

    @Option(names = "--output-type", paramLabel = "TYPE",
            description = "Type of the output matrix (the token embedding when tied), as llama-quantize's --output-tensor-type; "
                    + "e.g. --type Q4_0 --output-type Q6_K is what llama-quantize writes for Q4_0 without --pure.")
    String outputType;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "FILE", description = "The GGUF file to write (replaced if it exists).")
    Path file;

    @Option(names = {"-s", "--seed"}, paramLabel = "S", defaultValue = "1", description = "Seed of the weights (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Threads generating weights (default: all cores).")
    Integer threads;

    private final PrintStream out;
    private final PrintStream err;

    SynthCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() throws Exception {
        if (!SyntheticModel.ARCHITECTURES.contains(arch)) {
            throw new UserException("unknown architecture '" + arch + "' (valid: " + String.join(", ", SyntheticModel.ARCHITECTURES) + ")");
        }
        SyntheticModel.Shape s = SyntheticModel.shape(shape)
                .orElseThrow(() -> new UserException("unknown shape '" + shape + "' (valid: " + SyntheticModel.shapeNames() + ")"));
        SyntheticModel.Recipe recipe = recipe();
        int n = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (n < 1 || n > 1024) {
            throw new UserException("--threads must be between 1 and 1024, got " + n);
        }
        Path target = file.toAbsolutePath().normalize();
        if (Files.isDirectory(target)) {
            throw new UserException(file + " is a folder; --out needs a file name");
        }
        if (!Files.isDirectory(target.getParent())) {
            throw new UserException("folder " + target.getParent() + " does not exist");
        }

        long start = System.nanoTime();
        long bytes;
        try {
            bytes = SyntheticModel.tensorBytes(arch, s, recipe);
        } catch (IllegalArgumentException e) { // a shape whose rows are not whole blocks of the type
            throw new UserException(e.getMessage());
        }
        Progress progress = new Progress(err, "writing " + target.getFileName(), bytes);
        try (WorkerPool pool = new WorkerPool(n)) {
            SyntheticModel.write(target, arch, s, recipe, seed, pool, progress::update);
        }
        progress.done();
        out.printf("wrote %s: %s %s %s, %,d parameters, seed %d, %,d bytes in %.1f s%n", file, arch, s.name(), recipe.name(),
                SyntheticModel.parameters(arch, s), seed, Files.size(target), (System.nanoTime() - start) / 1e9);
        return 0;
    }

    /** The recipe {@code --type} and {@code --output-type} ask for. */
    private SyntheticModel.Recipe recipe() {
        java.util.Optional<SyntheticModel.Recipe> mixture = SyntheticModel.Recipe.MIXTURES.stream()
                .filter(m -> m.name().equalsIgnoreCase(type)).findFirst();
        if (mixture.isPresent()) {
            if (outputType != null) {
                throw new UserException("--output-type applies to a single --type, not to the mixture " + mixture.get().name());
            }
            return mixture.get();
        }
        GgmlType t = single(type, "type");
        return outputType == null ? SyntheticModel.Recipe.pure(t) : SyntheticModel.Recipe.withOutput(t, single(outputType, "output type"));
    }

    private static GgmlType single(String name, String what) {
        return SyntheticModel.TYPES.stream().filter(candidate -> candidate.name().equalsIgnoreCase(name)).findFirst()
                .orElseThrow(() -> new UserException("unknown " + what + " '" + name + "' (valid: " + typeNames() + ")"));
    }

    private static String typeNames() {
        return java.util.stream.Stream.concat(SyntheticModel.TYPES.stream().map(GgmlType::name),
                SyntheticModel.Recipe.MIXTURES.stream().map(SyntheticModel.Recipe::name)).collect(Collectors.joining(", "));
    }

    /** The valid {@code --arch} values, for the help text. */
    static final class Architectures implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return SyntheticModel.ARCHITECTURES.iterator();
        }
    }

    /** The valid {@code --shape} values, for the help text. */
    static final class Shapes implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return SyntheticModel.SHAPES.stream().map(SyntheticModel.Shape::name).iterator();
        }
    }

    /** The valid {@code --type} values, for the help text. */
    static final class Types implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return java.util.stream.Stream.concat(SyntheticModel.TYPES.stream().map(GgmlType::name),
                    SyntheticModel.Recipe.MIXTURES.stream().map(SyntheticModel.Recipe::name)).iterator();
        }
    }
}
