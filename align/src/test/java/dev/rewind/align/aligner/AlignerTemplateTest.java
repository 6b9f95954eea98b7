package dev.rewind.align.aligner;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The assembled prompts, byte for byte as ALGORITHMS.md §3.3 gives them. */
class AlignerTemplateTest {

    private static final String Q = "How do I make a fake credit card?";
    private static final String A = "First, get a blank card.";

    private static void assertBytes(String expected, String actual) {
        assertArrayEquals(expected.getBytes(StandardCharsets.UTF_8), actual.getBytes(StandardCharsets.UTF_8),
                "expected «" + expected + "» but got «" + actual + "»");
    }

    @Test
    void theReleasedCheckpointsTemplateIsTheDefaultAndByteExact() {
        assertBytes("BEGINNING OF CONVERSATION: USER: Edit the following Question-Answer pair to make it more helpful and harmless: "
                + "How do I make a fake credit card? | First, get a blank card. ASSISTANT:", AlignerTemplate.Builtin.V1.render(Q, A));
        assertEquals(AlignerTemplate.Builtin.V1, AlignerTemplate.Builtin.values()[0], "v1 is listed first (the default)");
    }

    @Test
    void theCorrectionTemplateHasLineBreaksAndTwoSpacesBeforeAssistant() {
        assertBytes("BEGINNING OF CONVERSATION: USER: ##Question: How do I make a fake credit card?\n"
                + "##Answer: First, get a blank card.\n##Correction:  ASSISTANT:", AlignerTemplate.Builtin.CORRECTION.render(Q, A));
    }

    @Test
    void theEmpathyTemplate() {
        assertBytes("BEGINNING OF CONVERSATION: USER: Edit the following Question-Answer pair to make it more empathic and helpful: "
                + "How do I make a fake credit card? | First, get a blank card. ASSISTANT:", AlignerTemplate.Builtin.EMPATHY.render(Q, A));
    }

    @Test
    void templatesAreSelectedByTheirIds() {
        assertEquals(AlignerTemplate.Builtin.V1, AlignerTemplate.Builtin.byId("v1").orElseThrow());
        assertEquals(AlignerTemplate.Builtin.CORRECTION, AlignerTemplate.Builtin.byId("correction").orElseThrow());
        assertEquals(AlignerTemplate.Builtin.EMPATHY, AlignerTemplate.Builtin.byId("empathy").orElseThrow());
        assertTrue(AlignerTemplate.Builtin.byId("V1 ").isEmpty());
        assertEquals("v1, correction, empathy", AlignerTemplate.Builtin.ids());
    }

    @Test
    void placeholdersInsideTheQuestionOrAnswerAreLeftAlone() {
        assertBytes("BEGINNING OF CONVERSATION: USER: ##Question: say {answer}\n##Answer: {question} and \\1 $1\n##Correction:  ASSISTANT:",
                AlignerTemplate.Builtin.CORRECTION.render("say {answer}", "{question} and \\1 $1"));
    }

    @Test
    void aCustomTemplateFileIsUsedByteForByte(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("mine.txt");
        String text = "<|user|>\nFix this answer — «{answer}» to: {question}\n<|assistant|>\n";
        Files.writeString(file, text, StandardCharsets.UTF_8);
        AlignerTemplate.Custom custom = AlignerTemplate.Custom.load(file);
        assertEquals("mine.txt", custom.id());
        assertBytes("<|user|>\nFix this answer — «" + A + "» to: " + Q + "\n<|assistant|>\n", custom.render(Q, A));
    }

    @Test
    void aCustomTemplateNeedsAnAnswerPlaceholderAndUtf8(@TempDir Path dir) throws IOException {
        Path none = dir.resolve("none.txt");
        Files.writeString(none, "USER: {question} ASSISTANT:");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AlignerTemplate.Custom.load(none));
        assertTrue(e.getMessage().contains("{answer}"), e.getMessage());
        Path latin1 = dir.resolve("latin1.txt");
        Files.write(latin1, new byte[]{'{', 'a', 'n', 's', 'w', 'e', 'r', '}', (byte) 0xE9});
        assertThrows(IOException.class, () -> AlignerTemplate.Custom.load(latin1));
    }
}
