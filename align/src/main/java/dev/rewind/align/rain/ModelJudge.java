package dev.rewind.align.rain;

import dev.rewind.engine.logits.TokenSequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.Logits;
import dev.rewind.engine.logits.LogitsSource;
import dev.rewind.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A language model judging texts with a {@link JudgeTemplate}: the generator itself (RAIN's
 * self-evaluation) or a larger model. Nothing is evaluated twice that can be shared: the template's
 * few-shot prefix is evaluated once and forked for every judgement; the text and everything else
 * the two option orders share is evaluated once, then both options blocks run in one batched forward
 * call; recent judged texts are kept, so a judgement evaluates only what its text does not share
 * with them (usually the new span and its simulation). Prompts are tokenized whole (BOS first, no
 * special-token parsing of the judged text), exactly as a from-scratch evaluation would, and the
 * shared parts are found on those token lists, so sharing never changes a readout.
 * Not thread-safe.
 */
public final class ModelJudge implements Judge, AutoCloseable {

    /** Recent judged texts kept as evaluated prefixes. */
    static final int RECENT_PREFIXES = 8;
    private static final List<String> PROBES = List.of("Human:", "x", " ", "\n", "Q:", "1");

    private final CountingSource source;
    private final Tokenizer tokenizer;
    private final JudgeTemplate template;
    private final PrefixCache cache;
    private boolean pinned;

    /**
     * @param source    the judge model (may be the generator's own runner)
     * @param tokenizer the judge model's tokenizer
     * @throws IllegalArgumentException if the template's labels cannot be told apart by the tokenizer
     */
    public ModelJudge(LogitsSource source, Tokenizer tokenizer, JudgeTemplate template) {
        this.source = new CountingSource(Objects.requireNonNull(source, "source"));
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.template = Objects.requireNonNull(template, "template");
        this.cache = new PrefixCache(this.source, RECENT_PREFIXES);
        promptTokens("Human: Hi\nAssistant: Hello."); // fails now, not at the first judgement, on unusable labels
    }

    public JudgeTemplate template() {
        return template;
    }

    /** The tokens each prompt of {@code text} is read at (two-order templates). */
    public List<LabelReadout> readouts(String text) {
        return switch (template) {
            case JudgeTemplate.TwoOrders t -> List.of(
                    LabelReadout.of(tokenizer, t.goodFirst(text), t.firstLabel(), t.secondLabel()),
                    LabelReadout.of(tokenizer, t.goodSecond(text), t.firstLabel(), t.secondLabel()));
            case JudgeTemplate.YesNo y -> throw new IllegalStateException("a yes-no template is read by yesNoReadout");
        };
    }

    /** Where the yes-no prompt of {@code text} is read: after the whole prompt, both spellings of each label. */
    public YesNoReadout yesNoReadout(String text) {
        if (!(template instanceof JudgeTemplate.YesNo y)) {
            throw new IllegalStateException("not a yes-no template");
        }
        return YesNoReadout.of(tokenizer, y.prompt(text), y.yes(), y.no());
    }

    /** The token lists of the prompts of {@code text}, up to where each is read. */
    private List<int[]> promptTokens(String text) {
        return switch (template) {
            case JudgeTemplate.TwoOrders t -> readouts(text).stream().map(LabelReadout::tokens).toList();
            case JudgeTemplate.YesNo y -> List.of(yesNoReadout(text).tokens());
        };
    }

    @Override
    public Judgement judge(String text) {
        pinFewShot();
        return switch (template) {
            case JudgeTemplate.TwoOrders t -> {
                List<LabelReadout> prompts = readouts(text);
                yield twoOrders(prompts.get(0), prompts.get(1));
            }
            case JudgeTemplate.YesNo y -> yesNo(yesNoReadout(text));
        };
    }

    private Judgement twoOrders(LabelReadout goodFirst, LabelReadout goodSecond) {
        int[] a = goodFirst.tokens();
        int[] b = goodSecond.tokens();
        int shared = Math.min(Math.min(a.length, b.length) - 1, Math.max(0, Arrays.mismatch(a, b)));
        TokenSequence base = cache.prefix(a, shared);
        TokenSequence first = null;
        TokenSequence second = null;
        try {
            if (shared > 0) {
                cache.remember(base, Arrays.copyOf(a, shared));
            }
            first = base.fork();
            second = base.fork();
            Batch batch = Batch.of(List.of(
                    new Batch.Entry(first, Arrays.copyOfRange(a, shared, a.length), Batch.Wanted.LAST),
                    new Batch.Entry(second, Arrays.copyOfRange(b, shared, b.length), Batch.Wanted.LAST)));
            Logits logits = source.forward(batch);
            Judgement.Readout r1 = readout("good-first", logits.row(0), goodFirst, true);
            Judgement.Readout r2 = readout("good-second", logits.row(1), goodSecond, false);
            return new Judgement(Judgement.twoOrderScore(r1.vote(), r2.vote()), List.of(r1, r2));
        } finally {
            base.close();
            if (first != null) {
                first.close();
            }
            if (second != null) {
                second.close();
            }
        }
    }

    private Judgement yesNo(YesNoReadout prompt) {
        int[] t = prompt.tokens();
        TokenSequence s = cache.prefix(t, t.length - 1);
        try {
            if (t.length > 1) {
                cache.remember(s, Arrays.copyOf(t, t.length - 1));
            }
            double[] p = softmax(source.forward(Batch.single(s, t[t.length - 1])).row(0));
            double yes = YesNoReadout.best(p, prompt.yes());
            double no = YesNoReadout.best(p, prompt.no());
            Judgement.Readout r = new Judgement.Readout("yes-no", yes, no, yes > no ? 1 : 0);
            return new Judgement(r.vote() == 1 ? 1 : -1, List.of(r));
        } finally {
            s.close();
        }
    }

    private static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        double[] p = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** Softmax probabilities of the two label tokens; the vote goes to the good label when it is strictly more likely. */
    private static Judgement.Readout readout(String name, float[] logits, LabelReadout r, boolean firstIsGood) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        double p1 = Math.exp(logits[r.first()] - max) / sum;
        double p2 = Math.exp(logits[r.second()] - max) / sum;
        int vote = firstIsGood ? (p1 > p2 ? 1 : 0) : (p2 > p1 ? 1 : 0);
        return new Judgement.Readout(name, p1, p2, vote);
    }

    /** Evaluates the tokens every prompt of this template starts with, once. */
    private void pinFewShot() {
        if (pinned) {
            return;
        }
        int[] common = null;
        for (String probe : PROBES) {
            for (int[] t : promptTokens(probe)) {
                common = common == null ? t : Arrays.copyOf(common, prefixLength(common, t));
            }
        }
        if (common != null && common.length > 1) {
            cache.pin(Arrays.copyOf(common, common.length - 1)); // the last shared token may merge with a text's first
        }
        pinned = true;
    }

    private static int prefixLength(int[] a, int[] b) {
        int i = Arrays.mismatch(a, b);
        return i < 0 ? a.length : i;
    }

    @Override
    public List<CountingSource> meters() {
        return List.of(source);
    }


    /** Releases the cached prefixes. */
    @Override
    public void close() {
        cache.close();
    }
}
