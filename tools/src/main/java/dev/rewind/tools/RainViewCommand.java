package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code rewind rain-view}: draws a {@code rewind rain --trace} file as a page a person can read. */
@Command(name = "rain-view", mixinStandardHelpOptions = true,
        description = {"Draw a RAIN trace (rewind rain --trace FILE) as a standalone HTML page (default) or one SVG picture:",
                "one tree per commit, boxes coloured by value, the committed path outlined, the judge's verdict on hover."})
final class RainViewCommand implements Callable<Integer> {

    enum Format { html, svg }

    @Parameters(paramLabel = "TRACE", description = "The trace file (one JSON object, or JSON lines from a batch).")
    Path trace;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", description = "Where to write (default: TRACE with .html or .svg).")
    Path out;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "html", description = "html or svg (default: ${DEFAULT-VALUE}).")
    Format format;

    @Option(names = "--id", paramLabel = "ID", description = "In a batch trace, the prompt id to draw (default: the first).")
    String id;

    private final PrintStream stdout;

    RainViewCommand(PrintStream stdout) {
        this.stdout = stdout;
    }

    @Override
    public Integer call() throws IOException {
        JsonNode tree = select(Files.readAllLines(trace, StandardCharsets.UTF_8));
        String text = format == Format.html ? RainTraceView.html(tree) : RainTraceView.svg(tree);
        Path target = out != null ? out : sibling(trace, "." + format.name());
        Files.writeString(target, text, StandardCharsets.UTF_8);
        stdout.println(target);
        return 0;
    }

    private JsonNode select(List<String> lines) throws IOException {
        ObjectMapper json = new ObjectMapper();
        int number = 0;
        for (String line : lines) {
            number++;
            if (line.isBlank()) {
                continue;
            }
            JsonNode node;
            try {
                node = json.readTree(line);
            } catch (IOException e) {
                throw new UserException(trace + " line " + number + " is not JSON: " + e.getMessage().lines().findFirst().orElse(""));
            }
            JsonNode t = node.has("trace") ? node.get("trace") : node;
            if (!t.has("commits")) {
                throw new UserException(trace + " line " + number + " is not a RAIN trace (no \"commits\")");
            }
            if (id == null || (node.has("id") && node.get("id").asText().equals(id))) {
                return t;
            }
        }
        throw new UserException(id == null ? trace + " holds no trace" : trace + " has no trace with id " + id);
    }

    private static Path sibling(Path file, String extension) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return file.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + extension);
    }
}
