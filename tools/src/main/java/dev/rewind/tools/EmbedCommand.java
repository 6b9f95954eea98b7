package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.align.batch.BatchInput;
import dev.rewind.align.batch.BatchItem;
import dev.rewind.engine.text.Escape;
import dev.rewind.models.bert.BertEmbedder;
import dev.rewind.models.bert.Embedder;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code rewind embed}: sentence embeddings as JSON lines {@code {"id", "embedding", "tokens"}}. Without
 * {@code --model} it runs the bundled all-MiniLM-L6-v2. Each line of {@code --input} is an object with a
 * string {@code "text"} (and optionally an {@code "id"}); a line that is not gets an output line with an
 * {@code "error"} naming the line and field, the others are still embedded, and the exit code is 1.
 */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = {"Sentence embeddings (as sentence-transformers computes them: by default mean-pooled, unit length), one JSON line"
                + " {\"id\", \"embedding\", \"tokens\"} per text.",
                "Default model: all-MiniLM-L6-v2 (384 dimensions, texts cut to 256 tokens), bundled, run in pure Java."})
final class EmbedCommand implements Callable<Integer> {

    /** Texts embedded in one call at most (the embedder batches their tokens). */
    static final int BATCH = 64;

    @Option(names = {"-m", "--model"}, paramLabel = "PATH",
            description = "A BERT sentence encoder: a Hugging Face folder (config.json, model.safetensors, tokenizer.json and"
                    + " sentence-transformers' modules.json/1_Pooling when present), a GGUF file of the bert architecture, or an"
                    + " ONNX export (the .onnx file with tokenizer.json beside it or one folder up, or its folder)"
                    + " (default: the bundled all-MiniLM-L6-v2).")
    Path model;

    @ArgGroup(multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--text", paramLabel = "T", description = "One text to embed (its id is 1).")
        String text;

        @Option(names = "--input", paramLabel = "FILE.jsonl", description = "JSON lines with a string \"text\" and an optional \"id\".")
        Path input;
    }

    @Option(names = {"-o", "--output"}, paramLabel = "FILE.jsonl", description = "Write the lines here instead of to standard output.")
    Path output;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Worker threads (default: all cores).")
    Integer threads;

    private final PrintStream out;
    private final PrintStream err;

    EmbedCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() throws IOException {
        int n = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (n < 1) {
            throw new UserException("--threads must be at least 1, got " + n);
        }
        if (source.input != null && !Files.exists(source.input)) {
            throw new java.nio.file.NoSuchFileException(source.input.toString());
        }
        ObjectMapper json = new ObjectMapper();
        try (Embedder embedder = model == null ? BertEmbedder.miniLm(n) : BertEmbedder.open(model, n);
             Writer sink = output == null ? null : Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
            Lines lines = new Lines(json, sink == null ? null : new BufferedWriter(sink));
            if (source.text != null) {
                lines.embed(embedder, List.of(new Pending(IntNode.valueOf(1), source.text, null)));
                lines.flush();
                return 0;
            }
            int failed = 0;
            int total = 0;
            try (BatchInput items = BatchInput.open(source.input)) {
                List<Pending> pending = new ArrayList<>();
                int texts = 0;
                for (BatchItem item = items.next(); item != null; item = items.next()) {
                    total++;
                    Pending p = pending(item);
                    if (p.error() != null) {
                        failed++;
                        err.println(Escape.visible("embed: " + source.input + ": " + p.error()));
                    } else {
                        texts++;
                    }
                    pending.add(p);
                    if (texts == BATCH) {
                        lines.embed(embedder, pending);
                        pending.clear();
                        texts = 0;
                    }
                }
                lines.embed(embedder, pending);
            }
            lines.flush();
            if (failed > 0) {
                err.println(Escape.visible("embed: " + failed + " of " + total + " lines of " + source.input
                        + " were not embedded (their output lines carry \"error\")"));
                return 1;
            }
            return 0;
        }
    }

    /** One input line: its id and text, or what is wrong with it. */
    private record Pending(JsonNode id, String text, String error) {
    }

    private static Pending pending(BatchItem item) {
        return switch (item) {
            case BatchItem.Bad bad -> new Pending(bad.id(), null, bad.problem());
            case BatchItem.Ok ok -> {
                JsonNode text = ok.fields().get("text");
                if (text == null) {
                    yield new Pending(ok.id(), null, "line " + ok.line() + " has no field \"text\"");
                }
                if (!text.isTextual()) {
                    yield new Pending(ok.id(), null, "line " + ok.line() + ": field \"text\" is " + kind(text) + ", not a string");
                }
                yield new Pending(ok.id(), text.asText(), null);
            }
        };
    }

    private static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> node.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        };
    }

    /** Writes result lines in input order, to the file or to standard output. */
    private final class Lines {
        private final ObjectMapper json;
        private final Writer file;

        Lines(ObjectMapper json, Writer file) {
            this.json = json;
            this.file = file;
        }

        void embed(Embedder embedder, List<Pending> pending) throws IOException {
            List<String> texts = new ArrayList<>();
            for (Pending p : pending) {
                if (p.error() == null) {
                    texts.add(p.text());
                }
            }
            Embedder.Embeddings e = texts.isEmpty() ? null : embedder.embed(texts);
            int k = 0;
            for (Pending p : pending) {
                ObjectNode line = json.createObjectNode();
                line.set("id", p.id());
                if (p.error() != null) {
                    line.put("error", p.error());
                } else {
                    ArrayNode vector = line.putArray("embedding");
                    for (float v : e.vectors()[k]) {
                        vector.add(v);
                    }
                    line.put("tokens", e.tokens()[k]);
                    k++;
                }
                write(json.writeValueAsString(line));
            }
        }

        private void write(String line) throws IOException {
            if (file != null) {
                file.write(line);
                file.write('\n');
            } else {
                out.println(line);
            }
        }

        void flush() throws IOException {
            if (file != null) {
                file.flush();
            }
            out.flush();
        }
    }
}
