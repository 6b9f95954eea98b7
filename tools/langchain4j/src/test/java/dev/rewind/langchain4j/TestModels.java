package dev.rewind.langchain4j;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.gguf.GgufValue;
import dev.rewind.engine.gguf.GgufWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.fail;

/** The shared models the tests run on ({@code rewind.shared}): missing data fails, never skips. */
final class TestModels {

    /** A small template in the usual shape: BOS, one block per message, EOS closing each reply, a generation prompt. */
    static final String TEMPLATE = "{{ bos_token }}{% for m in messages %}"
            + "{% if m.role == 'system' %}{{ m.content }}\n"
            + "{% elif m.role == 'user' %}Q: {{ m.content }}\n"
            + "{% else %}A:{{ m.content }}{{ eos_token }}\n{% endif %}"
            + "{% endfor %}{% if add_generation_prompt %}A:{% endif %}";

    private TestModels() {
    }

    static Path shared(String name) {
        String property = System.getProperty("rewind.shared");
        if (property == null) {
            fail("system property rewind.shared is not set: run the tests through Maven");
        }
        Path file = Path.of(property).resolve("models").resolve(name);
        if (!Files.exists(file)) {
            fail(file + " is missing: the tests need the shared models");
        }
        return file;
    }

    /** stories260K (which has no chat template) with {@link #TEMPLATE} as its {@code tokenizer.chat_template}. */
    static Path storiesWithTemplate(Path dir) throws IOException {
        Path out = dir.resolve("stories-chat.gguf");
        if (Files.exists(out)) {
            return out;
        }
        try (GgufFile file = GgufFile.open(shared("stories260K.gguf"))) {
            GgufWriter w = GgufWriter.create();
            file.metadata().asMap().forEach(w::metadata);
            w.metadata("tokenizer.chat_template", new GgufValue.Str(TEMPLATE));
            for (GgufTensorInfo t : file.tensors()) {
                w.tensor(t.name(), t.type(), t.shape(), file.tensorData(t));
            }
            w.write(out);
        }
        return out;
    }
}
