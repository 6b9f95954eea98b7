package dev.rewind.tools;

import dev.rewind.tools.fuzz.Fuzzer;
import dev.rewind.tools.fuzz.Outcome;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code rewind fuzz}: the fuzz suite (issue 9) with a random or given seed. Prints the seed first, then
 * one line per case that did not end cleanly (with the case seed that replays it), then a summary.
 */
@Command(name = "fuzz", mixinStandardHelpOptions = true,
        description = {"Fuzz the GGUF loader and command line (mutants of the shared models), the tokenizers (random strings),",
                "the safetensors and config.json loader (mutants of ../shared/hf-models folders), the tokenizer.json reader (mutants of ../shared/hf files), the batch reader (random JSONL),",
                "the chat template engine (mutated real templates and hostile ones), the BERT loaders behind embed (mutated MiniLM ONNX,",
                "a small GGUF bert) and rewind serve (mutated HTTP requests over raw sockets; every KV page must be back at the end). Each case ends as accepted, a clean one-line error, or unclean",
                "(internal error, escaped exception, OOM, multi-line or control-character message, half output, a hang",
                "past the watchdog); every unclean case is printed with its case seed. Exit 1 if any was unclean."})
final class FuzzCommand implements java.util.concurrent.Callable<Integer> {

    @Option(names = "--seed", paramLabel = "N", description = "Run seed (default: random, printed first).")
    Long seed;

    @Option(names = "--gguf-cases", paramLabel = "N", defaultValue = "100000", description = "GGUF mutants (default: ${DEFAULT-VALUE}).")
    int ggufCases;

    @Option(names = "--tokenizer-cases", paramLabel = "N", defaultValue = "10000", description = "Random tokenizer strings (default: ${DEFAULT-VALUE}).")
    int tokenizerCases;

    @Option(names = "--tokenizer-json-cases", paramLabel = "N", defaultValue = "2000",
            description = "Mutants of Hugging Face tokenizer.json files (default: ${DEFAULT-VALUE}).")
    int tokenizerJsonCases;

    @Option(names = "--safetensors-cases", paramLabel = "N", defaultValue = "10000",
            description = "Mutants of Hugging Face model folders: model.safetensors and config.json (default: ${DEFAULT-VALUE}).")
    int safetensorsCases;

    @Option(names = "--chat-template-cases", paramLabel = "N", defaultValue = "10000",
            description = "Mutated chat templates rendered (default: ${DEFAULT-VALUE}).")
    int chatTemplateCases;

    @Option(names = "--bert-cases", paramLabel = "N", defaultValue = "1000",
            description = "Mutated BERT files (MiniLM ONNX, a small GGUF bert) run through embed (default: ${DEFAULT-VALUE}).")
    int bertCases;

    @Option(names = "--http-cases", paramLabel = "N", defaultValue = "5000",
            description = "Mutated HTTP requests to an in-process rewind serve (default: ${DEFAULT-VALUE}).")
    int httpCases;

    @Option(names = "--jsonl-cases", paramLabel = "N", defaultValue = "10000", description = "Random JSONL batch files (default: ${DEFAULT-VALUE}).")
    int jsonlCases;

    @Option(names = "--models", paramLabel = "DIR", description = "The shared models folder (default: ../shared/models next to the checkout).")
    Path models;

    @Option(names = "--watchdog", paramLabel = "SECONDS", defaultValue = "10", description = "Longest a case may run (default: ${DEFAULT-VALUE}).")
    double watchdog;

    @Option(names = "--replay", paramLabel = "CASE_SEED", description = "Run only the case with this case seed (needs --target).")
    String replay;

    @Option(names = "--target", paramLabel = "T", description = "With --replay: gguf, tokenizer, tokenizer_json, jsonl, safetensors, chat_template, bert or http.")
    Fuzzer.Target target;

    @Option(names = "--keep", paramLabel = "FILE", description = "With --replay: write the case's input file here (for safetensors, a folder).")
    Path keep;

    private final PrintStream out;

    FuzzCommand(PrintStream out) {
        this.out = out;
    }

    @Override
    public Integer call() throws Exception {
        if (ggufCases < 0 || tokenizerCases < 0 || tokenizerJsonCases < 0 || jsonlCases < 0 || safetensorsCases < 0 || chatTemplateCases < 0
                || bertCases < 0 || httpCases < 0) {
            throw new UserException("case counts must not be negative");
        }
        if (!(watchdog > 0 && watchdog <= 3600)) {
            throw new UserException("--watchdog must be between 0 and 3600 seconds, got " + watchdog);
        }
        Path folder = models != null ? models : Path.of(System.getProperty("rewind.home", "."), "..", "shared", "models").normalize();
        if (!Files.isDirectory(folder)) {
            throw new UserException("no models folder at " + folder + " (give --models)");
        }
        Path work = Files.createTempDirectory("rewind-fuzz");
        try (Fuzzer fuzzer = new Fuzzer(folder, work, Duration.ofMillis((long) (watchdog * 1000)))) {
            if (replay != null) {
                if (target == null) {
                    throw new UserException("--replay needs --target");
                }
                long caseSeed = Long.parseUnsignedLong(replay);
                String[] input = {""};
                Outcome o = fuzzer.runCase(target, caseSeed, input, keep);
                out.println(dev.rewind.engine.text.Escape.visible(input[0]));
                out.println(dev.rewind.engine.text.Escape.visible(o.toString()));
                if (!(o instanceof Outcome.Unclean)) {
                    String[] after = {"after the case"};
                    o = fuzzer.afterTarget(target, after);
                    if (o instanceof Outcome.Unclean) {
                        out.println(dev.rewind.engine.text.Escape.visible(after[0] + ": " + o));
                    }
                }
                return o instanceof Outcome.Unclean ? 1 : 0;
            }
            long runSeed = seed != null ? seed : new SecureRandom().nextLong();
            out.println("fuzz seed " + runSeed + " (" + ggufCases + " GGUF, " + tokenizerCases + " tokenizer, " + tokenizerJsonCases + " tokenizer.json, " + jsonlCases + " JSONL, " + safetensorsCases + " safetensors, "
                    + chatTemplateCases + " chat template, " + bertCases + " BERT, " + httpCases + " HTTP cases, models "
                    + folder + ")");
            out.flush();
            Map<Fuzzer.Target, Integer> cases = new EnumMap<>(Fuzzer.Target.class);
            cases.put(Fuzzer.Target.GGUF, ggufCases);
            cases.put(Fuzzer.Target.TOKENIZER, tokenizerCases);
            cases.put(Fuzzer.Target.TOKENIZER_JSON, tokenizerJsonCases);
            cases.put(Fuzzer.Target.JSONL, jsonlCases);
            cases.put(Fuzzer.Target.SAFETENSORS, safetensorsCases);
            cases.put(Fuzzer.Target.CHAT_TEMPLATE, chatTemplateCases);
            cases.put(Fuzzer.Target.BERT, bertCases);
            cases.put(Fuzzer.Target.HTTP, httpCases);
            Fuzzer.Report report = fuzzer.run(runSeed, cases, f -> {
                out.println(f);
                out.flush();
            });
            report.summary().forEach(out::println);
            out.printf("fuzz seed %d: %d unclean in %.1f s%n", runSeed, report.unclean(), report.seconds());
            return report.unclean() == 0 ? 0 : 1;
        } finally {
            try (Stream<Path> files = Files.walk(work)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
