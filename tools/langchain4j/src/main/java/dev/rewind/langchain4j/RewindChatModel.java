package dev.rewind.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.chat.response.StreamingHandle;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import dev.rewind.align.aligner.Aligner;
import dev.rewind.align.decode.AlignerDecoding;
import dev.rewind.align.decode.Cancellation;
import dev.rewind.align.decode.DecodeListener;
import dev.rewind.align.decode.DecodeRequest;
import dev.rewind.align.decode.Decoded;
import dev.rewind.align.decode.DecodingStrategy;
import dev.rewind.align.decode.DeraDecoding;
import dev.rewind.align.decode.PlainDecoding;
import dev.rewind.align.decode.RainDecoding;
import dev.rewind.align.dera.Dera;
import dev.rewind.align.rain.HiddenStateEmbedder;
import dev.rewind.align.rain.ModelJudge;
import dev.rewind.align.rain.Rain;
import dev.rewind.align.rain.RainParams;
import dev.rewind.engine.kv.KvType;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.models.GgufWeights;
import dev.rewind.models.HfWeights;
import dev.rewind.models.LoadedModel;
import dev.rewind.models.ModelLoader;
import dev.rewind.models.ModelRunner;
import dev.rewind.tokenizer.HuggingFaceTokenizer;
import dev.rewind.tokenizer.chat.ChatFormat;
import dev.rewind.tokenizer.chat.ChatTemplate;
import dev.rewind.tokenizer.chat.Message;
import dev.rewind.tokenizer.chat.RenderOptions;
import dev.rewind.tokenizer.chat.TemplateException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A Rewind model as LangChain4j's {@link ChatModel} and {@link StreamingChatModel}, in-process: no
 * server. Messages (system, user, assistant text) go through the model's chat template (or the
 * builder's), rendered as Hugging Face renders it; the request's OpenAI-like parameters
 * (temperature, topP, topK, maxOutputTokens, stopSequences, and {@link RewindChatRequestParameters}'s
 * seed, minP, repeatPenalty) drive the decoding; the response carries the token usage, the finish
 * reason (STOP, LENGTH; OTHER for a cancelled stream) and, in {@link RewindChatResponseMetadata},
 * the method's report. The decoding is plain sampling or one of Rewind's methods ({@link RewindMethod}).
 *
 * <p>Requests are served one at a time (the model keeps the longest prompt prefix of the previous
 * request in its KV cache, so a multi-turn conversation evaluates only its new tokens). Streaming
 * runs on the calling thread: {@code doChat(request, handler)} returns after the handler's last call;
 * {@link StreamingHandle#cancel()} (from {@link PartialResponseContext}) stops the decoding at its next
 * token, after which the handler hears nothing more. A bad parameter is an
 * {@link InvalidRequestException} naming it; a feature Rewind does not have (tools, images, JSON
 * mode) an {@link dev.langchain4j.exception.UnsupportedFeatureException}. Close the model to free it.
 */
public final class RewindChatModel implements ChatModel, StreamingChatModel, AutoCloseable {

    private final String modelName;
    private final ChatFormat format;
    private final int contextLength;
    private final ChatRequestParameters defaults;
    private final DecodingStrategy strategy;
    /** The Aligner method's first step, this model's own answer; null for the other methods. */
    private final PlainDecoding answerer;
    private final List<AutoCloseable> owned;

    private RewindChatModel(String modelName, ChatFormat format, int contextLength, ChatRequestParameters defaults,
                            DecodingStrategy strategy, PlainDecoding answerer, List<AutoCloseable> owned) {
        this.modelName = modelName;
        this.format = format;
        this.contextLength = contextLength;
        this.defaults = defaults;
        this.strategy = strategy;
        this.answerer = answerer;
        this.owned = owned;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The method's name: {@code plain}, {@code rain}, {@code dera} or {@code aligner}. */
    public String method() {
        return strategy.method();
    }

    @Override
    public ChatRequestParameters defaultRequestParameters() {
        return defaults;
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;
    }

    /** None: no listeners are attached. */
    @Override
    public List<ChatModelListener> listeners() {
        return List.of();
    }

    /** None of LangChain4j's optional capabilities (JSON schema responses). */
    @Override
    public Set<Capability> supportedCapabilities() {
        return Set.of();
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        return respond(request, DecodeListener.NONE, new Cancellation());
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        Cancellation cancellation = new Cancellation();
        PartialResponseContext context = new PartialResponseContext(new StreamingHandle() {
            @Override
            public void cancel() {
                cancellation.cancel();
            }

            @Override
            public boolean isCancelled() {
                return cancellation.isCancelled();
            }
        });
        ChatResponse response;
        try {
            response = respond(request, new DecodeListener() {
                @Override
                public void onText(String piece) {
                    if (!cancellation.isCancelled()) {
                        handler.onPartialResponse(new PartialResponse(piece), context);
                    }
                }
            }, cancellation);
        } catch (RuntimeException e) {
            if (!cancellation.isCancelled()) {
                handler.onError(e);
            }
            return;
        }
        if (!cancellation.isCancelled()) {
            handler.onCompleteResponse(response);
        }
    }

    private synchronized ChatResponse respond(ChatRequest request, DecodeListener listener, Cancellation cancellation) {
        Objects.requireNonNull(request, "request");
        List<Message> messages = Conversation.of(request.messages());
        ChatRequestParameters parameters = defaults.overrideWith(request.parameters());
        int defaultMaxTokens = parameters.maxOutputTokens() != null ? parameters.maxOutputTokens() : Builder.DEFAULT_MAX_TOKENS;
        Decoded decoded;
        int extraPrompt = 0;
        int extraCompletion = 0;
        switch (strategy) {
            case RainDecoding rain -> decoded = rain.decode(
                    RequestParameters.decodeRequest(parameters, Conversation.lastUser(messages), new int[0], defaultMaxTokens),
                    listener, cancellation);
            case AlignerDecoding aligner -> {
                DecodeRequest ask = RequestParameters.decodeRequest(parameters, "", prompt(messages), defaultMaxTokens);
                long start = System.nanoTime();
                Decoded answer = answerer.decode(ask, DecodeListener.NONE, cancellation);
                double seconds = (System.nanoTime() - start) / 1e9;
                extraPrompt = answer.usage().promptTokens();
                extraCompletion = answer.usage().completionTokens();
                DecodeRequest correct = new DecodeRequest(Conversation.lastUser(messages), new int[0], SamplingParams.GREEDY, ask.maxTokens(),
                        ask.stop(), false, 0);
                // as the command's local upstream does, the answer is handed over without surrounding white space
                decoded = aligner.correct(correct, answer.text().strip(), modelName, seconds, listener, cancellation);
            }
            default -> decoded = strategy.decode(
                    RequestParameters.decodeRequest(parameters, "", prompt(messages), defaultMaxTokens), listener, cancellation);
        }
        TokenUsage usage = new TokenUsage(decoded.usage().promptTokens() + extraPrompt, decoded.usage().completionTokens() + extraCompletion);
        FinishReason finish = switch (decoded.finish()) {
            case STOP -> FinishReason.STOP;
            case LENGTH -> FinishReason.LENGTH;
            case CANCELLED -> FinishReason.OTHER;
        };
        return ChatResponse.builder()
                .aiMessage(AiMessage.from(decoded.text()))
                .metadata(RewindChatResponseMetadata.builder().modelName(modelName).tokenUsage(usage).finishReason(finish)
                        .report(decoded.report()).build())
                .build();
    }

    /** The conversation's token ids through the chat template, with the assistant's turn opened. */
    private int[] prompt(List<Message> messages) {
        int[] ids;
        try {
            ids = format.encode(messages, true);
        } catch (TemplateException e) {
            throw new InvalidRequestException("the chat template refused the messages: " + e.getMessage(), e);
        }
        if (ids.length >= contextLength) {
            throw new InvalidRequestException("the conversation is " + ids.length + " tokens, which leaves no room for an answer in the "
                    + "context of " + contextLength + " tokens");
        }
        return ids;
    }

    /** Frees the KV caches and the models. */
    @Override
    public synchronized void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            try {
                owned.get(i).close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + owned.get(i) + " failed: " + e.getMessage(), e);
            }
        }
        owned.clear();
    }

    /** Builds a {@link RewindChatModel}; only {@link #modelPath} is required. */
    public static final class Builder {

        static final int DEFAULT_MAX_TOKENS = 256;
        private static final int DEFAULT_CONTEXT_CAP = 4096;

        private Path modelPath;
        private Integer threads;
        private Integer contextLength;
        private String chatTemplate;
        private ChatRequestParameters defaultRequestParameters;
        private RewindMethod method = new RewindMethod.Plain();

        private Builder() {
        }

        /** A GGUF file or a Hugging Face model folder. */
        public Builder modelPath(Path value) {
            modelPath = value;
            return this;
        }

        /** Worker threads of the model's matrix products (default: all cores; DeRa splits them over its two models). */
        public Builder threads(int value) {
            threads = value;
            return this;
        }

        /** Positions prompt and answer may take together (default: the model's context, at most 4096). */
        public Builder contextLength(int value) {
            contextLength = value;
            return this;
        }

        /** A chat template (Jinja source) to use instead of the model's own, or for a model that has none. */
        public Builder chatTemplate(String source) {
            chatTemplate = source;
            return this;
        }

        /** Parameters every request starts from (its own override them); default: maxOutputTokens 256, OpenAI's sampling defaults. */
        public Builder defaultRequestParameters(ChatRequestParameters value) {
            defaultRequestParameters = value;
            return this;
        }

        /** How to decode (default: plain sampling). */
        public Builder method(RewindMethod value) {
            method = Objects.requireNonNull(value, "method");
            return this;
        }

        /**
         * Loads the model(s).
         *
         * @throws IllegalArgumentException naming what is wrong (no model path, no chat template, a context out of
         *                                  range, a template that does not parse, DeRa models with different vocabularies)
         * @throws UncheckedIOException     if a model cannot be read (the message names the file)
         */
        public RewindChatModel build() {
            if (modelPath == null) {
                throw new IllegalArgumentException("modelPath is required");
            }
            int cores = threads != null ? threads : Runtime.getRuntime().availableProcessors();
            if (cores < 1) {
                throw new IllegalArgumentException("threads must be >= 1, got " + cores);
            }
            List<AutoCloseable> owned = new ArrayList<>();
            try {
                return build(cores, owned);
            } catch (RuntimeException | Error e) {
                closeAll(owned, e);
                throw e;
            }
        }

        private RewindChatModel build(int cores, List<AutoCloseable> owned) {
            boolean dera = method instanceof RewindMethod.Dera;
            WorkerPool pool = keep(owned, new WorkerPool(dera ? (cores + 1) / 2 : cores));
            LoadedModel model = keep(owned, load(modelPath, pool));
            int modelContext = model.model().config().contextLength();
            int ctx = contextLength != null ? contextLength : Math.min(modelContext, DEFAULT_CONTEXT_CAP);
            if (ctx < 2 || ctx > modelContext) {
                throw new IllegalArgumentException("contextLength must be between 2 and the model's context length " + modelContext
                        + ", got " + ctx);
            }
            ChatFormat format = ChatFormat.of(template(model), model.tokenizer(), RenderOptions.DEFAULT);
            String name = modelPath.getFileName().toString();
            ChatRequestParameters defaults = DefaultParameters.of(defaultRequestParameters, DEFAULT_MAX_TOKENS);
            DecodingStrategy strategy;
            PlainDecoding answerer = null;
            switch (method) {
                case RewindMethod.Plain p -> {
                    ModelRunner runner = keep(owned, new ModelRunner(model.model(), ctx, 16, KvType.F32));
                    strategy = keep(owned, new PlainDecoding(runner, model.tokenizer(), ctx));
                }
                case RewindMethod.Dera d -> {
                    WorkerPool referencePool = keep(owned, new WorkerPool(Math.max(1, cores / 2)));
                    LoadedModel reference = keep(owned, load(d.reference(), referencePool));
                    var vocabulary = Dera.checkVocabularies(name, model, d.reference().getFileName().toString(), reference);
                    int both = Math.min(ctx, reference.model().config().contextLength());
                    ModelRunner a = keep(owned, new ModelRunner(model.model(), both, 16, KvType.F32));
                    ModelRunner r = keep(owned, new ModelRunner(reference.model(), both, 16, KvType.F32));
                    strategy = keep(owned, new DeraDecoding(a, r, d.lambda(), vocabulary, Optional.empty(), model.tokenizer(), both));
                    ctx = both;
                }
                case RewindMethod.Rain r -> {
                    RainParams params = r.params();
                    long nodes = 2L * (params.maxSearches() + params.searchFloor()) * (params.expansionWidth() + 2);
                    int capacity = (int) Math.min(Integer.MAX_VALUE / 2, 8L * ctx + 4096 + nodes * 2 * 16);
                    ModelRunner runner = keep(owned, new ModelRunner(model.model(), capacity, 16, KvType.F32));
                    ModelJudge judge = keep(owned, new ModelJudge(runner, model.tokenizer(), r.judge()));
                    HiddenStateEmbedder embedder = keep(owned, new HiddenStateEmbedder(runner, model.tokenizer(), 256));
                    Rain rain = new Rain(runner, model.tokenizer(), judge, embedder, params, r.conversation(), ctx);
                    strategy = new RainDecoding(rain, Optional.empty(), false);
                }
                case RewindMethod.Aligner al -> {
                    ModelRunner runner = keep(owned, new ModelRunner(model.model(), ctx, 16, KvType.F32));
                    answerer = keep(owned, new PlainDecoding(runner, model.tokenizer(), ctx));
                    LoadedModel alignerModel = keep(owned, load(al.aligner(), pool));
                    int actx = Math.min(alignerModel.model().config().contextLength(), DEFAULT_CONTEXT_CAP);
                    ModelRunner alignerRunner = keep(owned, new ModelRunner(alignerModel.model(), actx, 16, KvType.F32));
                    Aligner aligner = keep(owned, new Aligner(alignerRunner, alignerModel.tokenizer(), al.template(),
                            new Aligner.Settings(SamplingParams.GREEDY, DEFAULT_MAX_TOKENS, false, 0, actx)));
                    strategy = new AlignerDecoding(aligner, Optional.empty());
                }
            }
            return new RewindChatModel(name, format, ctx, defaults, strategy, answerer, owned);
        }

        private ChatTemplate template(LoadedModel model) {
            String source;
            String origin;
            if (chatTemplate != null) {
                source = chatTemplate;
                origin = "the chatTemplate given to the builder";
            } else {
                Optional<String> own = switch (model.file()) {
                    case GgufWeights g -> g.gguf().metadata().string("tokenizer.chat_template");
                    case HfWeights _ -> model.tokenizer() instanceof HuggingFaceTokenizer h ? h.config().chatTemplate() : Optional.empty();
                };
                source = own.orElseThrow(() -> new IllegalArgumentException(modelPath + " has no chat template "
                        + "(tokenizer.chat_template or tokenizer_config.json's chat_template): give one with chatTemplate(source)"));
                origin = modelPath.toString();
            }
            try {
                return ChatTemplate.parse(source);
            } catch (TemplateException e) {
                throw new IllegalArgumentException(origin + ": " + e.getMessage(), e);
            }
        }

        private static LoadedModel load(Path path, WorkerPool pool) {
            try {
                return ModelLoader.load(path, pool);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot load " + path + ": " + e.getMessage(), e);
            }
        }

        private static <T extends AutoCloseable> T keep(List<AutoCloseable> owned, T resource) {
            owned.add(resource);
            return resource;
        }

        private static void closeAll(List<AutoCloseable> owned, Throwable failure) {
            for (int i = owned.size() - 1; i >= 0; i--) {
                try {
                    owned.get(i).close();
                } catch (Exception e) {
                    failure.addSuppressed(e);
                }
            }
        }
    }
}
