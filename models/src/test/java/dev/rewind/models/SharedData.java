package dev.rewind.models;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Locates ../shared (models and llama.cpp reference outputs). Tests that need it fail, never
 * skip, when it is missing: a green run must mean the references were checked.
 */
final class SharedData {

    private SharedData() {
    }

    static Path root() {
        String property = System.getProperty("rewind.shared");
        Path root = property != null ? Path.of(property) : Path.of("..", "..", "shared");
        if (!Files.isDirectory(root.resolve("models"))) {
            fail("the shared test data is missing: expected a folder 'models' under " + root.toAbsolutePath().normalize()
                    + " (set -Drewind.shared=/path/to/shared; CI checks out ../shared beside the repository)");
        }
        return root;
    }

    static Path models() {
        return root().resolve("models");
    }

    static Path model(String fileName) {
        Path p = models().resolve(fileName);
        if (!Files.isRegularFile(p)) {
            fail("missing shared model file " + p);
        }
        return p;
    }
}
