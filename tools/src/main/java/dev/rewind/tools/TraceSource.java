package dev.rewind.tools;

import dev.rewind.engine.kv.Sequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.logits.TokenSequence;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.text.Escape;
import dev.rewind.tokenizer.Tokenizer;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * {@code generate --trace}: a {@link LogitsSource} that passes every call to a model and prints what the
 * call did, for a reader following one request through the engine: each forward call's batch (which
 * sequence, which positions, which tokens), the KV page table each sequence has afterwards, and the
 * highest logits of every row it returns. Printing is the only thing it adds; the numbers are the model's.
 */
final class TraceSource implements LogitsSource {

    private static final int TOP = 3;

    private final LogitsSource model;
    private final Tokenizer tokenizer;
    private final PrintStream err;
    private final Map<TokenSequence, Integer> names = new IdentityHashMap<>();
    private int calls;

    TraceSource(LogitsSource model, Tokenizer tokenizer, PrintStream err) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.err = err;
    }

    @Override
    public int vocabularySize() {
        return model.vocabularySize();
    }

    @Override
    public TokenSequence newSequence() {
        TokenSequence s = model.newSequence();
        names.put(s, names.size());
        return s;
    }

    @Override
    public Logits forward(Batch batch) {
        List<Integer> before = new ArrayList<>();
        for (Batch.Entry e : batch.entries()) {
            before.add(e.sequence().length());
        }
        Logits logits = model.forward(batch);
        calls++;
        err.printf("forward %d: %d entr%s, %d new token%s, %d logits row%s%n", calls, batch.entries().size(),
                batch.entries().size() == 1 ? "y" : "ies", batch.tokens(), batch.tokens() == 1 ? "" : "s", logits.rows(),
                logits.rows() == 1 ? "" : "s");
        int row = 0;
        for (int i = 0; i < batch.entries().size(); i++) {
            Batch.Entry e = batch.entries().get(i);
            int from = before.get(i);
            err.printf("  sequence %s: positions %d..%d <- %s%n", names.getOrDefault(e.sequence(), -1), from, from + e.size() - 1,
                    tokens(e.tokens()));
            if (e.sequence() instanceof Sequence kv) {
                StringJoiner pages = new StringJoiner(", ", "[", "]");
                for (int p = 0; p < kv.pageCount(); p++) {
                    pages.add(Integer.toString(kv.page(p)));
                }
                err.printf("    KV pages %s of %d positions each, length %d%n", pages, kv.pool().pageSize(), kv.length());
            }
            for (int k = 0; k < e.logitRows(); k++, row++) {
                err.printf("    logits row %d: highest %s%n", row, top(logits.row(row)));
            }
        }
        return logits;
    }

    private String tokens(int[] ids) {
        StringJoiner j = new StringJoiner(" ");
        int shown = Math.min(ids.length, 12);
        for (int i = 0; i < shown; i++) {
            j.add(ids[i] + ":" + piece(ids[i]));
        }
        return j + (ids.length > shown ? " … (" + ids.length + " tokens)" : "");
    }

    private String piece(int id) {
        return "'" + Escape.visible(tokenizer.piece(id)) + "'";
    }

    /** The {@link #TOP} highest logits, highest first, ties by lower id. */
    private String top(float[] row) {
        StringJoiner j = new StringJoiner(", ");
        for (int id : Sampler.topIds(row, TOP)) {
            j.add(id + ":" + piece(id) + String.format(Locale.ROOT, " %.3f", row[id]));
        }
        return j.toString();
    }
}
