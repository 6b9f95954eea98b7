package dev.rewind.tools;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code generate --trace} prints what happened, and changes nothing of what is generated. */
class GenerateTraceTest {

    private static final Pattern FED = Pattern.compile("  sequence 0: positions (\\d+)\\.\\.(\\d+) <- (\\d+):");
    private static final Pattern HIGHEST = Pattern.compile("    logits row 0: highest (\\d+):");
    private static final Pattern PAGES = Pattern.compile("    KV pages \\[([0-9, ]+)\\] of 16 positions each, length (\\d+)");

    @Test
    void theTraceShowsTheGreedyChoicesAndThePagesAsTheSequenceGrows() {
        String model = CliTest.shared().resolve("stories260K.gguf").toString();
        String[] args = {"generate", "-m", model, "-p", "Once upon a time", "-n", "14", "--temperature", "0", "--ignore-eos"};
        CliTest.Run plain = CliTest.run(args);
        List<String> traced = new ArrayList<>(List.of(args));
        traced.add("--trace");
        CliTest.Run r = CliTest.run(traced.toArray(String[]::new));
        assertEquals(0, r.exit(), r.err());
        assertEquals(plain.out(), r.out(), "the trace goes to stderr and changes nothing generated");

        List<Integer> firstFed = new ArrayList<>();
        List<Integer> fedFrom = new ArrayList<>();
        List<Integer> highest = new ArrayList<>();
        List<String> pages = new ArrayList<>();
        List<Integer> lengths = new ArrayList<>();
        for (String line : r.err().lines().toList()) {
            Matcher m = FED.matcher(line);
            if (m.lookingAt()) {
                fedFrom.add(Integer.parseInt(m.group(1)));
                firstFed.add(Integer.parseInt(m.group(3)));
            }
            m = HIGHEST.matcher(line);
            if (m.lookingAt()) {
                highest.add(Integer.parseInt(m.group(1)));
            }
            m = PAGES.matcher(line);
            if (m.matches()) {
                pages.add(m.group(1));
                lengths.add(Integer.parseInt(m.group(2)));
            }
        }
        assertEquals(14, fedFrom.size(), r.err()); // the prompt, then 13 tokens fed back (the 14th is never fed)
        assertEquals(0, fedFrom.get(0));
        assertEquals(1, firstFed.get(0), "the prompt starts with BOS");
        for (int k = 1; k < fedFrom.size(); k++) {
            assertEquals(highest.get(k - 1), firstFed.get(k), "greedy: forward " + (k + 1) + " feeds the highest logit of forward " + k);
            assertEquals(lengths.get(k - 1), fedFrom.get(k), "each forward appends after what the sequence holds");
        }
        int last = lengths.get(lengths.size() - 1);
        assertTrue(last > 16, "the run crosses a page boundary: " + last);
        assertEquals("0", pages.get(0));
        assertEquals("0, 1", pages.get(pages.size() - 1), "a second page once position 16 is written");
    }
}
