package dev.rewind.align.decode;

/**
 * One way of decoding a prompt into an answer: plain sampling ({@link PlainDecoding}), RAIN's tree
 * search ({@link RainDecoding}), DeRa's mixture of two models ({@link DeraDecoding}) or an Aligner's
 * correction of an upstream answer ({@link AlignerDecoding}). The commands and the server drive them
 * all the same way:
 *
 * <pre>{@code
 * Cancellation cancel = new Cancellation();            // cancel.cancel() from any thread stops it
 * Decoded d = strategy.decode(request, new DecodeListener() {
 *     public void onText(String piece) { send(piece); }  // pieces concatenate to d.text()
 * }, cancel);
 * d.usage(); d.finish(); d.report();                    // tokens, stop/length/cancelled, the method's own figures
 * }</pre>
 *
 * <p>A strategy serves one request at a time (calls are serialised); it may keep state across
 * requests to reuse work (a plain decoding keeps the longest prompt prefix evaluated). Closing it
 * releases what it holds in its models, never the models.
 */
public sealed interface DecodingStrategy extends AutoCloseable
        permits PlainDecoding, DeraDecoding, RainDecoding, AlignerDecoding {

    /** The method's name as requests spell it: {@code plain}, {@code rain}, {@code dera} or {@code aligner}. */
    String method();

    /**
     * Decodes one request. Text goes to {@code listener} as soon as it is final (text that may turn out
     * to be the start of a stop string is held back until it is not); the result's text is exactly the
     * concatenation of the pieces.
     *
     * @throws IllegalArgumentException if the request does not suit the strategy (an empty prompt, a
     *                                  prompt longer than the context)
     * @throws dev.rewind.engine.kv.KvCacheFullException if the KV cache cannot hold the work
     */
    Decoded decode(DecodeRequest request, DecodeListener listener, Cancellation cancellation);

    /** {@link #decode(DecodeRequest, DecodeListener, Cancellation)} with nobody listening and no cancellation. */
    default Decoded decode(DecodeRequest request) {
        return decode(request, DecodeListener.NONE, new Cancellation());
    }

    /** Releases the strategy's sequences (not its models). */
    @Override
    void close();
}
