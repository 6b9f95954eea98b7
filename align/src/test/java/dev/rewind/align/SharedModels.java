package dev.rewind.align;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The shared test models and llama.cpp's greedy references ({@code <rewind.shared>/models}). Missing
 * data fails the test, never skips it: a green run must mean the references were checked.
 */
public final class SharedModels {

    private SharedModels() {
    }

    /** {@code <rewind.shared>/models}. */
    public static Path dir() {
        String property = System.getProperty("rewind.shared");
        if (property == null) {
            fail("system property rewind.shared is not set: run the tests through Maven (surefire sets it to "
                    + "<repo>/../shared) or pass -Drewind.shared=/path/to/shared");
        }
        Path dir = Path.of(property).resolve("models");
        if (!Files.isDirectory(dir)) {
            fail("shared models folder " + dir.toAbsolutePath().normalize() + " does not exist (rewind.shared=" + property + ")");
        }
        return dir;
    }

    /** A model file of the shared folder. */
    public static Path model(String fileName) {
        Path p = dir().resolve(fileName);
        if (!Files.isRegularFile(p)) {
            fail("missing shared model file " + p);
        }
        return p;
    }

    /** llama.cpp's greedy run {@code ref/greedy/<model>__<prompt>.json}. */
    public static GreedyReference greedy(String model, String promptKey) {
        Path p = dir().resolve("ref/greedy/" + model + "__" + promptKey + ".json");
        if (!Files.isRegularFile(p)) {
            fail("missing reference " + p);
        }
        try {
            JsonNode json = new ObjectMapper().readTree(p.toFile());
            return new GreedyReference(json.get("prompt").asText(), ints(json.get("prompt_ids")), ints(json.get("gen_ids")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    /**
     * A greedy continuation by llama.cpp.
     *
     * @param prompt    the prompt text
     * @param promptIds its ids (BOS first)
     * @param genIds    the greedy continuation (EOS not stopping it)
     */
    public record GreedyReference(String prompt, int[] promptIds, int[] genIds) {
    }
}
