package dev.rewind.tools;

import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.kv.KvCacheFullException;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelRunner;
import dev.rewind.tokenizer.StreamDecoder;
import dev.rewind.tokenizer.Tokenizer;
import dev.rewind.tokenizer.chat.Message;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code rewind chat}: a conversation with a model through its chat template. Each turn renders the
 * whole conversation, keeps the part of the KV cache that the new token ids share with what it holds,
 * and evaluates only the rest (the new turn, plus whatever of the last reply the template renders
 * differently from how it was generated).
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = {"Chat with a model through its chat template: one user message per line of standard input",
                "(a line ending in \\ continues on the next), the reply streamed to standard output; the prompt",
                "and a line of statistics per turn go to standard error. A reply ends at an end-of-generation",
                "token (EOS, EOT, <|eot_id|>, <end_of_turn>, <|im_end|>, ...) or after --max-tokens.",
                "Earlier turns stay in the KV cache: each turn evaluates only its new tokens.",
                "Commands: /reset (start over, keeping --system), /save FILE (the conversation as a JSON",
                "messages array, as rewind template --messages and chat --messages read), /exit (or end of input)."})
final class ChatCommand implements Callable<Integer> {

    /** The context a chat gets when none is given: the model's own, at most this. */
    static final int DEFAULT_CONTEXT_CAP = 4096;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--system", paramLabel = "TEXT", description = "A system message opening the conversation.")
    String system;

    @Option(names = "--messages", paramLabel = "FILE.json",
            description = "Start from this conversation (a JSON messages array, e.g. one written by /save).")
    Path messages;

    @Mixin
    ChatTemplateOptions chatTemplate;

    @Mixin
    GenerationOptions generation;

    private final BufferedReader in;
    private final PrintStream out;
    private final PrintStream err;

    ChatCommand(BufferedReader in, PrintStream out, PrintStream err) {
        this.in = in;
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() throws Exception {
        long seed = generation.checkAndSeed();
        if (generation.ignoreEos) {
            throw new UserException("--ignore-eos does not apply to chat: a reply ends at its end-of-turn token");
        }
        if (generation.json()) {
            throw new UserException("--output-format json does not apply to chat");
        }
        List<Message> start = new ArrayList<>();
        if (system != null) {
            start.add(new Message("system", system));
        }
        if (messages != null) {
            start.addAll(Conversations.read(messages));
        }
        try (WorkerPool pool = modelOptions.newPool(); LoadedModel loaded = modelOptions.load(pool)) {
            ChatPrompt prompt = chatTemplate.require(loaded);
            Tokenizer tokenizer = loaded.tokenizer();
            int modelContext = loaded.model().config().contextLength();
            int ctx = generation.contextUpTo(modelContext, DEFAULT_CONTEXT_CAP);
            int capacity = generation.capacityFor(ctx);
            MemoryBudget.checkKvCache(loaded.model().config(), capacity, generation.pageSize, generation.kvType, loaded.file().fileSize(),
                    generation.capacityRemedy());
            prompt.render(start, true); // a template that refuses the starting conversation fails before the first turn
            try (ModelRunner runner = new ModelRunner(loaded.model(), capacity, generation.pageSize, generation.kvType);
                 GenerationContext context = new GenerationContext(runner, tokenizer::isEndOfGeneration, ctx)) {
                Session session = new Session(prompt, tokenizer, context, new Sampler(generation.samplingParams(seed), runner.vocabularySize()),
                        ctx, start);
                session.run();
            }
            return 0;
        }
    }

    /** One conversation: the messages so far and the context whose cache holds their tokens. */
    private final class Session {
        private final ChatPrompt prompt;
        private final Tokenizer tokenizer;
        private final GenerationContext context;
        private final Sampler sampler;
        private final int ctx;
        private final List<Message> start;
        private final List<Message> conversation;
        private int turn;

        Session(ChatPrompt prompt, Tokenizer tokenizer, GenerationContext context, Sampler sampler, int ctx, List<Message> start) {
            this.prompt = prompt;
            this.tokenizer = tokenizer;
            this.context = context;
            this.sampler = sampler;
            this.ctx = ctx;
            this.start = List.copyOf(start);
            this.conversation = new ArrayList<>(start);
        }

        void run() throws IOException {
            while (true) {
                err.print("> ");
                err.flush();
                String line = readMessage();
                if (line == null) {
                    return;
                }
                if (line.startsWith("/") && !line.startsWith("//")) {
                    if (!command(line.strip())) {
                        return;
                    }
                    continue;
                }
                if (line.isBlank()) {
                    continue;
                }
                reply(line.startsWith("//") ? line.substring(1) : line);
            }
        }

        /** A user message: one line, or several joined where a line ends in a backslash; null at end of input. */
        private String readMessage() throws IOException {
            StringBuilder message = new StringBuilder();
            String line;
            while ((line = in.readLine()) != null) {
                if (!line.endsWith("\\")) {
                    return message.append(line).toString();
                }
                message.append(line, 0, line.length() - 1).append('\n');
            }
            return message.isEmpty() ? null : message.toString();
        }

        /** Runs a slash command; false when the chat should end. */
        private boolean command(String line) {
            String[] parts = line.split("\\s+", 2);
            switch (parts[0]) {
                case "/exit", "/quit" -> {
                    return false;
                }
                case "/reset" -> {
                    conversation.clear();
                    conversation.addAll(start);
                    turn = 0;
                    err.println("chat: conversation reset" + (start.isEmpty() ? "" : " to its " + start.size() + " starting messages"));
                }
                case "/save" -> {
                    if (parts.length < 2 || parts[1].isBlank()) {
                        err.println("chat: /save needs a file name: /save FILE.json");
                    } else {
                        Path file = Path.of(parts[1].strip());
                        try {
                            Conversations.write(file, conversation);
                            err.println("chat: saved " + conversation.size() + " messages to " + file);
                        } catch (IOException | RuntimeException e) {
                            err.println("chat: cannot save to " + file + ": " + e.getMessage());
                        }
                    }
                }
                case "/help" -> err.println("chat: /reset, /save FILE, /exit; a message starting with / is written //");
                default -> err.println("chat: unknown command " + parts[0] + " (valid: /reset, /save FILE, /exit, /help)");
            }
            return true;
        }

        /** Adds the user's message, streams the reply and adds it; a turn that cannot run is undone with one line. */
        private void reply(String text) {
            conversation.add(new Message("user", text));
            int[] ids;
            try {
                ids = prompt.encode(conversation, true);
            } catch (UserException e) {
                conversation.removeLast();
                err.println("chat: " + e.getMessage());
                return;
            }
            if (ids.length >= ctx) {
                conversation.removeLast();
                err.println("chat: the conversation would be " + ids.length + " tokens, but the context holds " + ctx
                        + ": /reset, or start again with a larger --context");
                return;
            }
            StreamDecoder decoder = tokenizer.newStreamDecoder();
            StringBuilder answer = new StringBuilder();
            GenerationContext.Result result;
            try {
                result = context.generate(ids, sampler, new GenerationContext.Options(generation.maxTokens, false, 0), token -> {
                    if (!tokenizer.isEndOfGeneration(token)) {
                        String piece = decoder.accept(token);
                        answer.append(piece);
                        out.print(piece);
                        out.flush();
                    }
                });
            } catch (KvCacheFullException e) {
                conversation.removeLast();
                err.println("chat: the KV cache is full (" + e.getMessage() + "): /reset, or start again with a larger --kv-capacity");
                return;
            }
            String tail = decoder.flush();
            answer.append(tail);
            out.println(tail);
            out.flush();
            conversation.add(new Message("assistant", answer.toString()));
            turn++;
            err.printf("chat: turn %d: %d prompt tokens, %d from the cache, %d evaluated (%.1f ms); %d generated (%.2f tokens/s)%s%n",
                    turn, result.promptTokens().length, result.reusedTokens(), result.evaluatedPromptTokens(), result.promptNanos() / 1e6,
                    result.tokens().length, result.predictNanos() == 0 ? 0 : result.tokens().length * 1e9 / result.predictNanos(),
                    switch (result.stop()) {
                        case END_OF_GENERATION -> "";
                        case MAX_TOKENS -> "; cut at --max-tokens " + generation.maxTokens;
                        case CONTEXT_FULL -> "; cut at the end of the context (" + ctx + " tokens): /reset, or a larger --context";
                        case HALTED -> "; stopped";
                    });
            err.flush();
        }
    }
}
