package dev.rewind.align.decode;

import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.tokenizer.StreamDecoder;
import dev.rewind.tokenizer.Tokenizer;

import java.util.function.BooleanSupplier;

/**
 * The text side of a token-by-token generation: each token goes to the listener, is decoded (an end
 * token that stops the generation adds no text) and the text through a {@link TextStream}; the
 * generation halts at a stop string or a cancellation.
 */
final class TokenText implements GenerationContext.TokenListener {

    private final Tokenizer tokenizer;
    private final boolean ignoreEos;
    private final DecodeListener listener;
    private final Cancellation cancellation;
    private final StreamDecoder decoder;
    private final TextStream stream;
    private final StringBuilder text = new StringBuilder();

    TokenText(Tokenizer tokenizer, DecodeRequest request, boolean strip, DecodeListener listener, Cancellation cancellation) {
        this.tokenizer = tokenizer;
        this.ignoreEos = request.ignoreEos();
        this.listener = listener;
        this.cancellation = cancellation;
        this.decoder = tokenizer.newStreamDecoder();
        this.stream = new TextStream(listener, request.stop(), strip);
    }

    @Override
    public void onToken(int token) {
        listener.onToken(token);
        if (!ignoreEos && tokenizer.isEndOfGeneration(token)) {
            return;
        }
        String piece = decoder.accept(token);
        if (!piece.isEmpty()) {
            text.append(piece);
            stream.update(text, 0);
        }
    }

    /** When the generation should stop early. */
    BooleanSupplier halt() {
        return () -> stream.stopped() || cancellation.isCancelled();
    }

    /** The answer, once the generation is over. */
    String finish() {
        text.append(decoder.flush());
        return stream.finish(text);
    }

    /** Why a generation that returned {@code stop} ended. */
    FinishReason finishReason(GenerationContext.StopReason stop) {
        if (stream.stopped()) {
            return FinishReason.STOP;
        }
        return switch (stop) {
            case END_OF_GENERATION -> FinishReason.STOP;
            case MAX_TOKENS, CONTEXT_FULL -> FinishReason.LENGTH;
            case HALTED -> FinishReason.CANCELLED;
        };
    }
}
