package dev.rewind.tools;

import dev.rewind.models.GgufConverter;
import dev.rewind.models.Quantization;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code rewind convert}: a Hugging Face model folder to its GGUF twin. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = {"Write the GGUF file of a Hugging Face model folder (config.json, *.safetensors, tokenizer.json),",
                "laid out as llama.cpp's converter writes it, with the tokenizer and chat template as metadata."})
final class ConvertCommand implements Callable<Integer> {

    @Parameters(paramLabel = "DIR", description = "Hugging Face model folder.")
    Path folder;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "FILE", description = "The GGUF file to write (replaced if it exists).")
    Path file;

    @Option(names = "--type", paramLabel = "TYPE",
            description = "Type of the weight matrices: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K (every matrix in that type, as "
                    + "llama-quantize --pure), or the mixtures Q4_K_M and Q5_K_M as llama-quantize chooses them (default: each tensor's "
                    + "own type; 1-D tensors are F32; the router of a mixture of experts keeps its type).")
    String type;

    private final PrintStream out;
    private final PrintStream err;

    ConvertCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() throws Exception {
        if (!Files.isDirectory(folder)) {
            throw new UserException(Files.exists(folder) ? folder + " is not a folder" : "no such folder: " + folder);
        }
        Quantization t = type == null ? null : Quantization.parse(type, Quantization.CONVERT).orElseThrow(() -> new UserException(
                "unknown --type '" + type + "' (valid: " + Quantization.names(Quantization.CONVERT) + ")"));
        Path target = file.toAbsolutePath().normalize();
        if (Files.isDirectory(target)) {
            throw new UserException(file + " is a folder; --out needs a file name");
        }
        if (!Files.isDirectory(target.getParent())) {
            throw new UserException("folder " + target.getParent() + " does not exist");
        }
        long start = System.nanoTime();
        long total;
        try (var s = Files.list(folder)) {
            total = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).mapToLong(p -> p.toFile().length()).sum();
        }
        Progress progress = new Progress(err, "converting " + folder.getFileName(), total);
        GgufConverter.convert(folder, target, t, (name, bytes) -> progress.update(bytes));
        progress.done();
        out.printf("wrote %s: %,d bytes in %.1f s%n", file, Files.size(target), (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
