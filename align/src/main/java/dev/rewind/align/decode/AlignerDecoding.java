package dev.rewind.align.decode;

import dev.rewind.align.aligner.Aligner;
import dev.rewind.align.aligner.Upstream;
import dev.rewind.align.aligner.UpstreamException;
import dev.rewind.align.aligner.UpstreamResult;
import dev.rewind.engine.generate.GenerationContext;

import java.util.Objects;
import java.util.Optional;

/**
 * The Aligner: the request's text is the question; an upstream (a local model, an OpenAI-compatible
 * endpoint) answers it, or the caller gives the answer ({@link #correct}); the Aligner rewrites that
 * answer with the request's sampling, limits and stop strings, and only its correction is the answer
 * (white space around it removed). The report carries the upstream answer. Cancellation is looked at
 * before the correction and after each of its tokens (an upstream call is not interrupted).
 */
public final class AlignerDecoding implements DecodingStrategy {

    /** Where an answer given with the request is said to come from. */
    public static final String GIVEN = "input";

    private final Aligner aligner;
    private final Optional<Upstream> upstream;

    /**
     * @param aligner  the corrector (not owned)
     * @param upstream answers questions; empty when the answers always come with the requests
     */
    public AlignerDecoding(Aligner aligner, Optional<Upstream> upstream) {
        this.aligner = Objects.requireNonNull(aligner, "aligner");
        this.upstream = Objects.requireNonNull(upstream, "upstream");
    }

    @Override
    public String method() {
        return "aligner";
    }

    /**
     * Asks the upstream, then corrects its answer.
     *
     * @throws UpstreamException     if the upstream could not answer (its message says why)
     * @throws IllegalStateException if this decoding has no upstream
     */
    @Override
    public synchronized Decoded decode(DecodeRequest request, DecodeListener listener, Cancellation cancellation) {
        Upstream u = upstream.orElseThrow(() -> new IllegalStateException(
                "the aligner has no upstream to answer the question: give the answer with the request"));
        return switch (u.answer(request.text())) {
            case UpstreamResult.Answer a -> correct(request, a.text(), u.describe(), a.seconds(), listener, cancellation);
            case UpstreamResult.Failure f -> throw new UpstreamException(f.message(), f.seconds());
        };
    }

    /** Corrects {@code answer}, an answer to the request's text given by the caller (no upstream asked). */
    public synchronized Decoded correct(DecodeRequest request, String answer, DecodeListener listener, Cancellation cancellation) {
        return correct(request, answer, GIVEN, 0, listener, cancellation);
    }

    /** A request for {@code question} with the Aligner's own decoding settings (what the command line gave). */
    public DecodeRequest request(String question) {
        Aligner.Settings s = aligner.settings();
        return new DecodeRequest(question, new int[0], s.sampling(), s.maxTokens(), java.util.List.of(), s.ignoreEos(), s.topLogits());
    }

    /**
     * Corrects {@code answer}, which came from {@code source} in {@code upstreamSeconds} (a batch that asks
     * its upstream itself, to keep the answer when the correction fails).
     */
    public synchronized Decoded correct(DecodeRequest request, String answer, String source, double upstreamSeconds,
                                        DecodeListener listener, Cancellation cancellation) {
        TokenText text = new TokenText(aligner.tokenizer(), request, true, listener, cancellation);
        Aligner.Generated g = aligner.generate(request.text(), answer, request.sampling(),
                new GenerationContext.Options(request.maxTokens(), request.ignoreEos(), request.topLogits()), text, text.halt());
        String corrected = text.finish();
        GenerationContext.Result r = g.result();
        return new Decoded(corrected, r.tokens(), new Usage(r.promptTokens().length, r.tokens().length), text.finishReason(r.stop()),
                new MethodReport.Aligner(answer, source, upstreamSeconds, g.answerUsed(), g.truncated(), r));
    }

    /** Nothing to release: the Aligner and the upstream belong to whoever built them. */
    @Override
    public void close() {
    }
}
