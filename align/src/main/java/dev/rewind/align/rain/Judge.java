package dev.rewind.align.rain;

import java.util.List;

/**
 * Scores a judged text (the last exchange of a partial answer, see {@link Conversation#judgedText}):
 * −1 harmful, +1 harmless, 0 when the two option orders disagree. RAIN's self-evaluation is a
 * {@link ModelJudge} on the model being aligned; tests script their own.
 */
@FunctionalInterface
public interface Judge {

    /** The verdict on {@code text}. */
    Judgement judge(String text);

    /**
     * The counting views of the model calls this judge makes (none for judges that run no model), for
     * the cost report: tokens, calls and KV pages.
     */
    default List<CountingSource> meters() {
        return List.of();
    }
}
