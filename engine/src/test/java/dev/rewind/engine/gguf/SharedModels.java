package dev.rewind.engine.gguf;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/** The shared test models folder ({@code <rewind.shared>/models}); missing means failure, never a skip. */
final class SharedModels {

    private SharedModels() {
    }

    /** {@code <rewind.shared>/models}, or a test failure saying what is missing. */
    static Path dir() {
        String shared = System.getProperty("rewind.shared");
        if (shared == null || shared.isBlank()) {
            fail("system property rewind.shared is not set: run the tests through Maven (surefire sets it to "
                    + "<repo>/../shared) or pass -Drewind.shared=/path/to/shared");
        }
        Path dir = Path.of(shared, "models");
        if (!Files.isDirectory(dir)) {
            fail("shared models folder " + dir.toAbsolutePath() + " does not exist (rewind.shared=" + shared + ")");
        }
        return dir;
    }

    /** A file in the models folder, which must exist. */
    static Path file(String name) {
        Path file = dir().resolve(name);
        if (!Files.isRegularFile(file)) {
            fail("shared model file " + file.toAbsolutePath() + " does not exist");
        }
        return file;
    }

    /** Every {@code *.gguf} in the models folder and its {@code tokenizers} subfolder, sorted. */
    static List<Path> ggufFiles() throws IOException {
        Path dir = dir();
        List<Path> files;
        try (Stream<Path> top = Files.list(dir); Stream<Path> tok = Files.isDirectory(dir.resolve("tokenizers"))
                ? Files.list(dir.resolve("tokenizers")) : Stream.empty()) {
            files = Stream.concat(top, tok)
                    .filter(p -> p.getFileName().toString().endsWith(".gguf") && Files.isRegularFile(p))
                    .sorted()
                    .toList();
        }
        if (files.isEmpty()) {
            fail("no *.gguf files in " + dir.toAbsolutePath() + " or its tokenizers folder");
        }
        return files;
    }
}
