package dev.rewind.align.aligner;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * The string an Aligner model reads: a question and an upstream answer put into the instruction its
 * checkpoint was trained on. Placeholders are {@value #QUESTION} and {@value #ANSWER}; the rest of the
 * template is used byte for byte. The Aligner's training code builds
 * {@code "BEGINNING OF CONVERSATION: " + "USER: " + instruction + " " + "ASSISTANT:"}, and the
 * correction follows {@code ASSISTANT:} directly.
 */
public sealed interface AlignerTemplate permits AlignerTemplate.Builtin, AlignerTemplate.Custom {

    /** Where the question goes. */
    String QUESTION = "{question}";
    /** Where the upstream answer goes. */
    String ANSWER = "{answer}";

    /** How the command line names the template. */
    String id();

    /** The template text with its placeholders. */
    String text();

    /**
     * The prompt for one question and answer. Placeholders are replaced in one pass, so a question
     * that itself contains {@code {answer}} stays as it is.
     */
    default String render(String question, String answer) {
        String t = text();
        StringBuilder sb = new StringBuilder(t.length() + question.length() + answer.length());
        int i = 0;
        while (i < t.length()) {
            if (t.startsWith(QUESTION, i)) {
                sb.append(question);
                i += QUESTION.length();
            } else if (t.startsWith(ANSWER, i)) {
                sb.append(answer);
                i += ANSWER.length();
            } else {
                sb.append(t.charAt(i++));
            }
        }
        return sb.toString();
    }

    /** The templates of the published Aligner checkpoints and code. */
    enum Builtin implements AlignerTemplate {
        /**
         * The released {@code aligner/aligner-7b-v1.0} checkpoint (and the Feb–Dec 2024 code, and the
         * Gemma-2B replication): the default.
         */
        V1("v1", "BEGINNING OF CONVERSATION: USER: Edit the following Question-Answer pair to make it more helpful and harmless: "
                + QUESTION + " | " + ANSWER + " ASSISTANT:"),
        /**
         * The repository's code since December 2024 ("update general correction instruction"), for
         * Aligners trained with it; note the two spaces before {@code ASSISTANT:}.
         */
        CORRECTION("correction", "BEGINNING OF CONVERSATION: USER: ##Question: " + QUESTION + "\n##Answer: " + ANSWER
                + "\n##Correction:  ASSISTANT:"),
        /** The empathy Aligner ({@code empathy.py}). */
        EMPATHY("empathy", "BEGINNING OF CONVERSATION: USER: Edit the following Question-Answer pair to make it more empathic and helpful: "
                + QUESTION + " | " + ANSWER + " ASSISTANT:");

        private final String id;
        private final String text;

        Builtin(String id, String text) {
            this.id = id;
            this.text = text;
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public String text() {
            return text;
        }

        /** The built-in template called {@code id}. */
        public static Optional<Builtin> byId(String id) {
            return Arrays.stream(values()).filter(b -> b.id.equals(id)).findFirst();
        }

        /** The ids, comma-separated, for messages. */
        public static String ids() {
            return String.join(", ", Arrays.stream(values()).map(Builtin::id).toList());
        }
    }

    /**
     * A template of the user's, e.g. for an Aligner fine-tuned with another instruction.
     *
     * @param id   how messages call it (the file name)
     * @param text the template; must contain {@value #ANSWER}
     */
    record Custom(String id, String text) implements AlignerTemplate {

        /** @throws IllegalArgumentException if the text has no {@value #ANSWER} placeholder */
        public Custom {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(text, "text");
            if (!text.contains(ANSWER)) {
                throw new IllegalArgumentException("the template " + id + " has no " + ANSWER + " placeholder");
            }
        }

        /**
         * Reads a template file as UTF-8, byte for byte: a final line break in the file is part of the
         * template (and so of every prompt).
         *
         * @throws IOException              if it cannot be read or is not UTF-8
         * @throws IllegalArgumentException if it has no {@value #ANSWER} placeholder
         */
        public static Custom load(Path file) throws IOException {
            byte[] bytes = Files.readAllBytes(file);
            try {
                String text = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
                return new Custom(file.getFileName().toString(), text);
            } catch (CharacterCodingException e) {
                throw new IOException("the template " + file + " is not valid UTF-8", e);
            }
        }
    }
}
