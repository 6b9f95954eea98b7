package dev.rewind.tools;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.gguf.GgufValue;
import dev.rewind.engine.text.Escape;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code rewind info}: what a GGUF file holds. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Print a GGUF file's metadata and its tensor table (name, type, shape, bytes).")
final class InfoCommand implements Callable<Integer> {

    @Parameters(paramLabel = "PATH", description = "GGUF file.")
    Path path;

    private final PrintStream out;

    InfoCommand(PrintStream out) {
        this.out = out;
    }

    /**
     * Every key, value and tensor name comes from the file, so each goes through {@link Escape}: no byte
     * of the file reaches the terminal as a control character, and each entry stays on its line.
     */
    @Override
    public Integer call() throws Exception {
        try (GgufFile file = GgufFile.open(path)) {
            out.printf("file: %s%nGGUF version %d, %d bytes, alignment %d, data at offset %d%n%n",
                    Escape.visible(path.toString()), file.version(), file.fileSize(), file.alignment(), file.dataOffset());
            out.printf("metadata (%d keys):%n", file.metadata().asMap().size());
            for (Map.Entry<String, GgufValue> e : file.metadata().asMap().entrySet()) {
                out.printf("  %-45s %s%n", Escape.excerpt(e.getKey(), 200), Escape.excerpt(e.getValue().toString(), 160));
            }
            out.printf("%ntensors (%d):%n", file.tensors().size());
            List<String> names = file.tensors().stream().map(t -> Escape.excerpt(t.name(), 200)).toList();
            int width = names.stream().mapToInt(String::length).max().orElse(4);
            out.printf("  %-" + width + "s  %-7s  %-22s  %12s%n", "name", "type", "shape", "bytes");
            long total = 0;
            for (int i = 0; i < names.size(); i++) {
                GgufTensorInfo t = file.tensors().get(i);
                String shape = Arrays.stream(t.shape()).mapToObj(Long::toString).collect(Collectors.joining(" × "));
                out.printf("  %-" + width + "s  %-7s  %-22s  %12d%n", names.get(i), t.type(), shape, t.byteSize());
                total += t.byteSize();
            }
            out.printf("  %-" + width + "s  %-7s  %-22s  %12d%n", "total", "", "", total);
        }
        return 0;
    }
}
