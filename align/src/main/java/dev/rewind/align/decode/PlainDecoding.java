package dev.rewind.align.decode;

import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.tokenizer.Tokenizer;

import java.util.Objects;

/**
 * Plain sampling on any {@link LogitsSource} (a model, a mixture): the sampling chain of the request's
 * parameters, token by token, from the request's prompt ids. The decoding keeps one
 * {@link GenerationContext}, so a request whose prompt extends the previous one's (a chat turn, a
 * shared system prompt) evaluates only the new tokens.
 */
public final class PlainDecoding implements DecodingStrategy {

    private final LogitsSource source;
    private final Tokenizer tokenizer;
    private final GenerationContext context;

    /**
     * @param source        the model (or mixture) to sample from; not owned
     * @param tokenizer     its tokenizer (end tokens, decoding)
     * @param contextLength most positions prompt and answer may take
     */
    public PlainDecoding(LogitsSource source, Tokenizer tokenizer, int contextLength) {
        this.source = Objects.requireNonNull(source, "source");
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.context = new GenerationContext(source, tokenizer::isEndOfGeneration, contextLength);
    }

    @Override
    public String method() {
        return "plain";
    }

    @Override
    public synchronized Decoded decode(DecodeRequest request, DecodeListener listener, Cancellation cancellation) {
        Generated g = generate(context, source, tokenizer, request, listener, cancellation);
        return new Decoded(g.text(), g.result().tokens(), g.usage(), g.finish(), new MethodReport.Plain(g.result()));
    }

    /** One generation of a context with a request's sampling, limits and stop strings. */
    static Generated generate(GenerationContext context, LogitsSource source, Tokenizer tokenizer, DecodeRequest request,
                              DecodeListener listener, Cancellation cancellation) {
        TokenText text = new TokenText(tokenizer, request, false, listener, cancellation);
        GenerationContext.Result r = context.generate(request.promptTokens(), new Sampler(request.sampling(), source.vocabularySize()),
                new GenerationContext.Options(request.maxTokens(), request.ignoreEos(), request.topLogits()), text, text.halt());
        String answer = text.finish();
        return new Generated(answer, r, new Usage(r.promptTokens().length, r.tokens().length), text.finishReason(r.stop()));
    }

    /** A generation's answer, the engine's result, its usage and why it ended. */
    record Generated(String text, GenerationContext.Result result, Usage usage, FinishReason finish) {
    }

    /** Releases the context's sequence; the source stays open. */
    @Override
    public synchronized void close() {
        context.close();
    }
}
