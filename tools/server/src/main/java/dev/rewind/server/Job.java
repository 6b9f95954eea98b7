package dev.rewind.server;

import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.tokenizer.StreamDecoder;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One accepted request inside the {@link Scheduler}: while its prompt is evaluated it has one
 * sequence; then one {@link Choice} per {@code n}, each with its own fork of the prompt. The HTTP
 * thread reads its {@link Event}s and may {@linkplain #cancel() cancel} it; everything else belongs
 * to the scheduler thread.
 */
final class Job {

    enum State { WAITING, PREFILL, DECODE, DONE }

    /** One of the {@code n} continuations of a job. */
    static final class Choice {
        final int index;
        final Sampler sampler;
        final StreamDecoder decoder;
        final StopMatcher stops;
        /** Prompt and generated tokens. */
        final int[] history;
        int length;
        int generated;
        /** The token chosen last step, fed in the next one. */
        int pending = -1;
        Sequence sequence;
        /** Null while running; then {@code stop} or {@code length}. */
        String finish;

        Choice(int index, Sequence sequence, Sampler sampler, StreamDecoder decoder, StopMatcher stops, int[] prompt, int historyLength) {
            this.index = index;
            this.sequence = sequence;
            this.sampler = sampler;
            this.decoder = decoder;
            this.stops = stops;
            this.history = java.util.Arrays.copyOf(prompt, historyLength);
            this.length = prompt.length;
        }
    }

    final GenerationRequest request;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private volatile boolean cancelled;
    private final dev.rewind.align.decode.Cancellation cancellation = new dev.rewind.align.decode.Cancellation();

    // The scheduler thread's state.
    State state = State.WAITING;
    Sequence sequence;
    int cachedTokens;
    Choice[] choices;
    long admission;

    Job(GenerationRequest request) {
        this.request = request;
    }

    /** Asks the scheduler to stop this request and free its pages (the client went away). */
    void cancel() {
        cancelled = true;
        cancellation.cancel();
    }

    /** The same cancellation, for alignment strategies that poll it. */
    dev.rewind.align.decode.Cancellation cancellation() {
        return cancellation;
    }

    boolean cancelled() {
        return cancelled;
    }

    void emit(Event event) {
        events.add(event);
    }

    /** The next event, or null after {@code timeoutMillis}. */
    Event next(long timeoutMillis) throws InterruptedException {
        return events.poll(timeoutMillis, TimeUnit.MILLISECONDS);
    }
}
