package dev.rewind.spark;

import dev.rewind.engine.generate.GenerationContext;
import dev.rewind.engine.logits.TokenSequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.engine.sampling.Sampler;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.tokenizer.StreamDecoder;
import dev.rewind.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Several prompts generated side by side on one logits source: one forward call per step carries one
 * token of every row still going (and the prefill carries every row's prompt chunk), so each weight
 * matrix is read once per step for the whole group instead of once per row. The prompts' longest common
 * prefix is evaluated once and forked (copy-on-write pages) into every row.
 *
 * <p>Each row follows exactly the loop of {@link GenerationContext#generate} — its own sampler from the
 * same parameters and seed, the same stop rules (end of generation, max tokens, context full) and the
 * same text decoding as {@code rewind generate} — and the engine gives a row the same logits alone or in
 * a batch, so a row's tokens and text are the ones the single-prompt command gives. Only the timings
 * differ: a row's prompt and generation times are the group's.
 */
public final class LockstepGeneration {

    /**
     * One row to generate.
     *
     * @param prompt        its prompt token ids (at least one)
     * @param contextLength its context: prompt and generated tokens together
     */
    public record Row(int[] prompt, int contextLength) {
        public Row {
            if (prompt.length == 0) {
                throw new IllegalArgumentException("the prompt has no tokens");
            }
            if (prompt.length > contextLength) {
                throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens, more than the context of " + contextLength);
            }
        }
    }

    /** A finished row: the engine's result and the decoded continuation. */
    public record Generated(GenerationContext.Result result, String text) {
    }

    /** The shortest common prefix worth evaluating once and forking. */
    static final int MIN_SHARED_PREFIX = 8;

    private LockstepGeneration() {
    }

    /**
     * Generates every row, in lock-step.
     *
     * @param maxTokens most tokens per row
     * @param ignoreEos keep going after an end-of-generation token
     * @throws dev.rewind.engine.kv.KvCacheFullException when the source's cache cannot hold the rows
     */
    public static List<Generated> generate(LogitsSource source, Tokenizer tokenizer, List<Row> rows, SamplingParams sampling,
                                           int maxTokens, boolean ignoreEos) {
        int n = rows.size();
        long start = System.nanoTime();
        TokenSequence[] sequences = new TokenSequence[n];
        List<TokenSequence> open = new ArrayList<>();
        try {
            int shared = sharedPrefix(rows);
            TokenSequence root = null;
            if (shared >= MIN_SHARED_PREFIX && n > 1) {
                root = source.newSequence();
                open.add(root);
                int[] first = rows.getFirst().prompt();
                for (int from = 0; from < shared; from += GenerationContext.PREFILL_CHUNK) {
                    int to = Math.min(shared, from + GenerationContext.PREFILL_CHUNK);
                    source.forward(Batch.of(List.of(new Batch.Entry(root, Arrays.copyOfRange(first, from, to), Batch.Wanted.NONE))));
                }
            } else {
                shared = 0;
            }
            for (int i = 0; i < n; i++) {
                sequences[i] = root != null ? root.fork() : source.newSequence();
                open.add(sequences[i]);
            }
            float[][] logits = new float[n][];
            prefill(source, rows, sequences, shared, logits);
            long promptNanos = System.nanoTime() - start;

            long predictStart = System.nanoTime();
            int[][] history = new int[n][];
            int[] length = new int[n];
            Sampler[] samplers = new Sampler[n];
            StreamDecoder[] decoders = new StreamDecoder[n];
            StringBuilder[] texts = new StringBuilder[n];
            List<List<GenerationContext.Step>> steps = new ArrayList<>();
            GenerationContext.StopReason[] stops = new GenerationContext.StopReason[n];
            boolean[] going = new boolean[n];
            for (int i = 0; i < n; i++) {
                Row r = rows.get(i);
                history[i] = Arrays.copyOf(r.prompt(), (int) Math.min((long) r.prompt().length + maxTokens, (long) r.contextLength() + 1));
                length[i] = r.prompt().length;
                samplers[i] = new Sampler(sampling, source.vocabularySize());
                decoders[i] = tokenizer.newStreamDecoder();
                texts[i] = new StringBuilder();
                steps.add(new ArrayList<>());
                stops[i] = GenerationContext.StopReason.MAX_TOKENS;
                going[i] = maxTokens > 0;
            }
            for (int step = 0; step < maxTokens; step++) {
                List<Batch.Entry> entries = new ArrayList<>();
                List<Integer> owners = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    if (!going[i]) {
                        continue;
                    }
                    int token = samplers[i].sample(logits[i], history[i], length[i]);
                    steps.get(i).add(new GenerationContext.Step(token, null, null));
                    history[i][length[i]++] = token;
                    boolean end = !ignoreEos && tokenizer.isEndOfGeneration(token);
                    texts[i].append(end ? "" : decoders[i].accept(token));
                    if (end) {
                        stops[i] = GenerationContext.StopReason.END_OF_GENERATION;
                        going[i] = false;
                    } else if (step == maxTokens - 1) {
                        going[i] = false;
                    } else if (length[i] >= rows.get(i).contextLength()) {
                        stops[i] = GenerationContext.StopReason.CONTEXT_FULL;
                        going[i] = false;
                    } else {
                        entries.add(new Batch.Entry(sequences[i], new int[]{token}, Batch.Wanted.LAST));
                        owners.add(i);
                    }
                }
                if (entries.isEmpty()) {
                    break;
                }
                Logits out = source.forward(Batch.of(entries));
                for (int k = 0; k < owners.size(); k++) {
                    logits[owners.get(k)] = out.row(k).clone();
                }
            }
            long predictNanos = System.nanoTime() - predictStart;
            List<Generated> done = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                int[] prompt = rows.get(i).prompt();
                texts[i].append(decoders[i].flush());
                GenerationContext.Result result = new GenerationContext.Result(prompt.clone(), 0,
                        Arrays.copyOfRange(history[i], prompt.length, length[i]), List.copyOf(steps.get(i)), promptNanos, predictNanos, stops[i]);
                done.add(new Generated(result, texts[i].toString()));
            }
            return done;
        } finally {
            for (TokenSequence s : open) {
                s.close();
            }
        }
    }

    /** Every row's prompt after the shared prefix, chunk by chunk, all rows in each forward call; keeps each row's last logits. */
    private static void prefill(LogitsSource source, List<Row> rows, TokenSequence[] sequences, int shared, float[][] logits) {
        int longest = 0;
        for (Row r : rows) {
            longest = Math.max(longest, r.prompt().length);
        }
        for (int from = shared; from < longest; from += GenerationContext.PREFILL_CHUNK) {
            List<Batch.Entry> entries = new ArrayList<>();
            List<Integer> finishing = new ArrayList<>();
            for (int i = 0; i < rows.size(); i++) {
                int[] prompt = rows.get(i).prompt();
                if (from >= prompt.length) {
                    continue;
                }
                int to = Math.min(prompt.length, from + GenerationContext.PREFILL_CHUNK);
                boolean last = to == prompt.length;
                entries.add(new Batch.Entry(sequences[i], Arrays.copyOfRange(prompt, from, to), last ? Batch.Wanted.LAST : Batch.Wanted.NONE));
                if (last) {
                    finishing.add(i);
                }
            }
            Logits out = source.forward(Batch.of(entries));
            for (int k = 0; k < finishing.size(); k++) {
                logits[finishing.get(k)] = out.row(k).clone();
            }
        }
    }

    /** The longest prefix all rows share, leaving each row at least its last prompt token to feed for logits. */
    static int sharedPrefix(List<Row> rows) {
        int[] first = rows.getFirst().prompt();
        int shared = first.length - 1;
        for (Row r : rows) {
            int[] p = r.prompt();
            int limit = Math.min(shared, p.length - 1);
            int i = 0;
            while (i < limit && p[i] == first[i]) {
                i++;
            }
            shared = i;
        }
        return Math.max(0, shared);
    }
}
