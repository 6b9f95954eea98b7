package dev.rewind.tools;

import dev.rewind.tools.fuzz.Fuzzer;
import dev.rewind.tools.fuzz.Outcome;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static dev.rewind.tools.CliTest.shared;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 9, item 2: a fixed-seed sample of the fuzz suite ({@code rewind fuzz} runs 10^5+ cases with a
 * random seed). Every case must be accepted or refused cleanly; a failure prints its case seed.
 */
class FuzzSuiteTest {

    /** The CI sample: a few thousand cases, about a minute on two busy cores (the last three targets about 30 s of it). */
    static final long SEED = 20261201L;
    static final int GGUF_CASES = 1500;
    static final int TOKENIZER_CASES = 1500;
    static final int TOKENIZER_JSON_CASES = 150;
    static final int JSONL_CASES = 1000;
    static final int SAFETENSORS_CASES = 300;
    static final int CHAT_TEMPLATE_CASES = 1500;
    static final int BERT_CASES = 30;
    static final int HTTP_CASES = 1000;

    @TempDir
    Path work;

    @Test
    void aFixedSeedSampleEndsCleanly() throws IOException {
        Map<Fuzzer.Target, Integer> cases = new EnumMap<>(Fuzzer.Target.class);
        cases.put(Fuzzer.Target.GGUF, Integer.getInteger("rewind.fuzz.gguf", GGUF_CASES));
        cases.put(Fuzzer.Target.TOKENIZER, TOKENIZER_CASES);
        cases.put(Fuzzer.Target.TOKENIZER_JSON, Integer.getInteger("rewind.fuzz.tokenizer-json", TOKENIZER_JSON_CASES));
        cases.put(Fuzzer.Target.JSONL, JSONL_CASES);
        cases.put(Fuzzer.Target.SAFETENSORS, Integer.getInteger("rewind.fuzz.safetensors", SAFETENSORS_CASES));
        cases.put(Fuzzer.Target.CHAT_TEMPLATE, Integer.getInteger("rewind.fuzz.chat-template", CHAT_TEMPLATE_CASES));
        cases.put(Fuzzer.Target.BERT, Integer.getInteger("rewind.fuzz.bert", BERT_CASES));
        cases.put(Fuzzer.Target.HTTP, Integer.getInteger("rewind.fuzz.http", HTTP_CASES));
        try (Fuzzer fuzzer = new Fuzzer(shared(), work, Duration.ofSeconds(10))) {
            Fuzzer.Report report = fuzzer.run(SEED, cases, f -> System.out.println(f));
            report.summary().forEach(System.out::println);
            System.out.printf("fuzz sample: %.1f s%n", report.seconds());
            assertEquals(List.of(), report.failures().stream().map(Fuzzer.Failure::toString).toList());
            int[] gguf = report.counts().get(Fuzzer.Target.GGUF);
            assertTrue(gguf[0] > 0 && gguf[1] > gguf[0], "mutants both load and are refused: " + report.summary());
            int[] safetensors = report.counts().get(Fuzzer.Target.SAFETENSORS);
            assertTrue(safetensors[0] > 0 && safetensors[1] > safetensors[0], "safetensors mutants both load and are refused: "
                    + report.summary());
            for (Fuzzer.Target t : List.of(Fuzzer.Target.CHAT_TEMPLATE, Fuzzer.Target.BERT, Fuzzer.Target.HTTP)) {
                int[] c = report.counts().get(t);
                assertTrue(c[0] > 0 && c[1] > 0, t + " cases are both accepted and refused: " + report.summary());
            }
        }
    }

    @Test
    void theClassifierTellsCleanErrorsFromUncleanOnes() {
        assertInstanceOf(Outcome.Success.class, Fuzzer.classify(0, "text", "speed\nlines\n"));
        assertInstanceOf(Outcome.CleanError.class, Fuzzer.classify(1, "", "generate: bad GGUF file: x.gguf: bad magic at byte offset 0\n"));
        for (String[] unclean : new String[][]{{"3", "", "generate: internal error: java.lang.ArrayIndexOutOfBoundsException\n"},
                {"1", "", "two\nlines\n"}, {"1", "", "an \u001b[2J escape\n"}, {"1", "Once", "generate: too late\n"}, {"1", "", ""},
                {"2", "", "usage\n"}}) {
            assertInstanceOf(Outcome.Unclean.class, Fuzzer.classify(Integer.parseInt(unclean[0]), unclean[1], unclean[2]),
                    String.join(" | ", unclean));
        }
    }
}
