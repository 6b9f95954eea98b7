package dev.rewind.align.aligner;

import com.fasterxml.jackson.databind.JsonNode;

import dev.rewind.align.batch.BatchInput;
import dev.rewind.align.batch.BatchItem;
import dev.rewind.align.decode.AlignerDecoding;
import dev.rewind.align.decode.Cancellation;
import dev.rewind.align.decode.DecodeListener;
import dev.rewind.align.decode.Decoded;
import dev.rewind.align.decode.MethodReport;

import java.io.IOException;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The Aligner pipeline over many questions: for each item, the answer (from the upstream when there is
 * one, else from the item), then the Aligner's correction through {@link AlignerDecoding}. A problem with one item — an unreadable line,
 * an upstream that fails or times out, a question too long for the Aligner — becomes that item's
 * {@code error} and the batch goes on. Items already done (resumption) are skipped; a repeated id is an
 * error item under its line's id (see {@link dev.rewind.align.batch.BatchIds}), so no item is lost.
 */
public final class AlignerBatch {

    /** Receives each finished item, in input order. */
    @FunctionalInterface
    public interface Sink {
        void accept(AlignedItem item) throws IOException;
    }

    /** The items of a run, one at a time. */
    public interface Items {
        /** How many items there are. */
        int total();

        /** The next item, or {@code null} after the last. */
        InputLine next() throws IOException;

        /** The items of a batch input file, read as they are needed. */
        static Items of(BatchInput input) {
            return new Items() {
                @Override
                public int total() {
                    return input.items();
                }

                @Override
                public InputLine next() throws IOException {
                    BatchItem item = input.next();
                    return item == null ? null : InputLine.of(item);
                }
            };
        }

        /** Items already in memory (one question from the command line). */
        static Items of(List<InputLine> lines) {
            Iterator<InputLine> it = List.copyOf(lines).iterator();
            return new Items() {
                @Override
                public int total() {
                    return lines.size();
                }

                @Override
                public InputLine next() {
                    return it.hasNext() ? it.next() : null;
                }
            };
        }
    }

    /** Told after each item, for a progress display. */
    @FunctionalInterface
    public interface Progress {
        /**
         * @param position 1-based position of the item among the input's items
         * @param total    items in the input, or {@link BatchInput#UNKNOWN}
         */
        void onItem(int position, int total, AlignedItem item);
    }

    /**
     * How a run went.
     *
     * @param items     items in the input (for an input that could not be counted, those read)
     * @param skipped   items done before, not processed again
     * @param processed items processed in this run
     * @param failed    of those, items with an error
     * @param truncated of those, items whose answer was cut to fit
     * @param stopped   whether the run stopped at its item limit before the end of the input
     */
    public record Summary(int items, int skipped, int processed, int failed, int truncated, boolean stopped) {
    }

    /** Where an answer that came with the input is said to come from. */
    public static final String FROM_INPUT = AlignerDecoding.GIVEN;

    private final AlignerDecoding decoding;
    private final Optional<Upstream> upstream;

    /**
     * @param upstream answers every question when present; when empty, the answers must come with the items
     */
    public AlignerBatch(Aligner aligner, Optional<Upstream> upstream) {
        this.upstream = Objects.requireNonNull(upstream, "upstream");
        this.decoding = new AlignerDecoding(Objects.requireNonNull(aligner, "aligner"), upstream);
    }

    /**
     * Runs the items in order, reading them one at a time.
     *
     * @param isDone   ids that are already done (e.g. {@link ResumableOutput#isDone})
     * @param maxItems process at most this many items in this run
     * @throws IOException when the input cannot be read or the sink cannot write (the batch stops: its
     *                     output is what it cannot lose); a bad line is an item with an error, not this
     */
    public Summary run(Items items, Predicate<JsonNode> isDone, Sink sink, Progress progress, int maxItems)
            throws IOException {
        int total = items.total();
        int skipped = 0;
        int processed = 0;
        int failed = 0;
        int truncated = 0;
        int position = 0;
        for (InputLine line = items.next(); line != null; line = items.next()) {
            position++;
            if (isDone.test(line.id())) {
                skipped++;
                continue;
            }
            if (processed == maxItems) {
                return new Summary(total < 0 ? position : total, skipped, processed, failed, truncated, true);
            }
            AlignedItem item = process(line);
            sink.accept(item);
            processed++;
            failed += item.error().isPresent() ? 1 : 0;
            truncated += item.truncated() ? 1 : 0;
            progress.onItem(position, total, item);
        }
        return new Summary(total < 0 ? position : total, skipped, processed, failed, truncated, false);
    }

    /** One item, from the answer to the correction; never throws for a problem of the item's own. */
    public AlignedItem process(InputLine line) {
        long start = System.nanoTime();
        return switch (line) {
            case InputLine.Unreadable u -> new AlignedItem(u.id(), "", Optional.empty(), FROM_INPUT, Optional.empty(),
                    seconds(start), 0, Optional.of(u.problem()));
            case InputLine.Item item -> process(item, start);
        };
    }

    /** One question, answered by the upstream (which must be present). */
    public AlignedItem process(JsonNode id, String question) {
        return process(new InputLine.Item(id, question, Optional.empty()));
    }

    private AlignedItem process(InputLine.Item item, long start) {
        String answer;
        String source;
        double upstreamSeconds = 0;
        if (upstream.isPresent()) {
            source = upstream.get().describe();
            switch (upstream.get().answer(item.question())) {
                case UpstreamResult.Answer a -> {
                    answer = a.text();
                    upstreamSeconds = a.seconds();
                }
                case UpstreamResult.Failure f -> {
                    return new AlignedItem(item.id(), item.question(), Optional.empty(), source, Optional.empty(),
                            seconds(start), f.seconds(), Optional.of(f.message()));
                }
            }
        } else if (item.answer().isPresent()) {
            answer = item.answer().get();
            source = AlignerDecoding.GIVEN;
        } else {
            return new AlignedItem(item.id(), item.question(), Optional.empty(), FROM_INPUT, Optional.empty(),
                    seconds(start), 0, Optional.of("the item has no \"answer\" and no upstream was given to answer it"));
        }
        try {
            Decoded d = decoding.correct(decoding.request(item.question()), answer, source, upstreamSeconds, DecodeListener.NONE,
                    new Cancellation());
            MethodReport.Aligner report = (MethodReport.Aligner) d.report();
            Correction c = new Correction(d.text(), report.truncated(), report.answerUsed(), report.generation());
            return new AlignedItem(item.id(), item.question(), Optional.of(answer), source, Optional.of(c),
                    seconds(start), upstreamSeconds, Optional.empty());
        } catch (RuntimeException e) {
            return new AlignedItem(item.id(), item.question(), Optional.of(answer), source, Optional.empty(),
                    seconds(start), upstreamSeconds, Optional.of("the aligner failed: " + e.getMessage()));
        }
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }
}
