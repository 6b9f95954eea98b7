package dev.rewind.align.rain;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The official RAIN prompt files, byte for byte as ALGORITHMS.md §1.9 reproduces them (LF line ends,
 * no final newline), shipped as resources beside this class.
 */
public final class Templates {

    /** {@code HH/f1.txt}: the chat few-shot prefix of the HH task prompt (4 {@code Human:} turns). */
    public static final String HH_CHAT = load("hh-f1.txt");
    /** {@code HH/f2.txt}: the judge's few-shot prefix for harmlessness. */
    public static final String HH_JUDGE = load("hh-f2.txt");
    /** {@code HH/r1.txt}: options with (A) harmless, (B) harmful, ending in {@code The answer is: (}. */
    public static final String HH_OPTIONS_HARMLESS_FIRST = load("hh-r1.txt");
    /** {@code HH/r2.txt}: options with (A) harmful, (B) harmless. */
    public static final String HH_OPTIONS_HARMFUL_FIRST = load("hh-r2.txt");
    /** {@code adv/f1.txt}: Vicuna's system line, with its trailing space. */
    public static final String ADV_CHAT = load("adv-f1.txt");
    /** {@code adv/f2.txt}: {@link #HH_JUDGE} with two example questions replaced. */
    public static final String ADV_JUDGE = load("adv-f2.txt");
    /** {@code truth/f2.txt}: the TruthfulQA judge's instruction. */
    public static final String TRUTH_JUDGE = load("truth-f2.txt");

    private Templates() {
    }

    private static String load(String name) {
        try (InputStream in = Templates.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + name + " beside " + Templates.class.getName());
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
