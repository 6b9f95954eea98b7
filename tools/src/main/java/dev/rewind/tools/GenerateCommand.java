package dev.rewind.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelRunner;
import dev.rewind.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.concurrent.Callable;

/** {@code rewind generate}: continue a prompt. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate a continuation of a prompt and stream it to stdout.",
                "With --chat the prompt is a user message (after --system's, if given) rendered with the model's chat",
                "template and the assistant's turn opened; generation ends at an end-of-generation token (EOS, EOT,",
                "<|eot_id|>, <end_of_turn>, <|im_end|>, ...).",
                "Sampling order: repetition penalty, temperature, top-k, top-p, min-p, seeded draw."})
final class GenerateCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", required = true, description = "The prompt.")
    String prompt;

    @Option(names = "--chat", description = "Use the prompt as a user message through the chat template (one-shot chat).")
    boolean chat;

    @Option(names = "--system", paramLabel = "TEXT", description = "With --chat: a system message before the user's.")
    String system;

    @Mixin
    ChatTemplateOptions chatTemplate;

    @Option(names = "--trace", description = "Print every forward call on stderr: the batch (sequence, positions, tokens), "
            + "the KV pages the sequence holds afterwards and the highest logits of each row returned.")
    boolean trace;

    @Mixin
    GenerationOptions generation;

    private final PrintStream out;
    private final PrintStream err;

    GenerateCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() throws Exception {
        long actualSeed = generation.checkAndSeed();
        if (!chat && (system != null || chatTemplate.file != null)) {
            throw new UserException((system != null ? "--system" : "--chat-template") + " needs --chat");
        }
        try (WorkerPool pool = modelOptions.newPool(); LoadedModel loaded = modelOptions.load(pool)) {
            Tokenizer tokenizer = loaded.tokenizer();
            int[] promptIds = chat ? chatTemplate.require(loaded).encodeQuestion(system, prompt) : tokenizer.encode(prompt, true, true);
            int ctx = generation.contextFor(promptIds.length, loaded.model().config().contextLength());
            int capacity = generation.capacityFor(ctx);
            MemoryBudget.checkKvCache(loaded.model().config(), capacity, generation.pageSize, generation.kvType, loaded.file().fileSize(),
                    generation.capacityRemedy());
            boolean stream = !generation.json();
            GenerationOptions.Completion completion;
            try (ModelRunner runner = new ModelRunner(loaded.model(), capacity, generation.pageSize, generation.kvType)) {
                LogitsSource source = trace ? new TraceSource(runner, tokenizer, err) : runner;
                completion = generation.generate(source, tokenizer, promptIds, ctx, actualSeed, stream ? out : null);
            }
            if (stream) {
                out.println();
                out.flush();
                GenerationOptions.printSpeed(err, completion.result());
                if (completion.result().stop() == GenerationContext.StopReason.CONTEXT_FULL) {
                    err.println("generate: stopped at the end of the context (" + ctx + " tokens); raise --context");
                }
            } else {
                ObjectMapper mapper = new ObjectMapper();
                out.println(mapper.writeValueAsString(generation.toJson(mapper, completion, actualSeed)));
            }
            return 0;
        }
    }
}
