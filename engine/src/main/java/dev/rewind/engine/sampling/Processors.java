package dev.rewind.engine.sampling;

/** The standard {@link LogitsProcessor}s. */
public final class Processors {

    private Processors() {
    }

    /**
     * llama.cpp's repetition penalty: the logit of every distinct token among the last
     * {@code lastN} of the history is divided by {@code penalty} when positive, multiplied when negative.
     */
    public record RepetitionPenalty(float penalty, int lastN, boolean[] seen) implements LogitsProcessor {
        public RepetitionPenalty(float penalty, int lastN, int vocabularySize) {
            this(penalty, lastN, new boolean[vocabularySize]);
        }

        @Override
        public void apply(Candidates c, int[] history, int length) {
            if (penalty == 1f || lastN == 0 || length == 0) {
                return;
            }
            int from = Math.max(0, length - lastN);
            for (int j = from; j < length; j++) {
                if (history[j] >= 0 && history[j] < seen.length) {
                    seen[history[j]] = true;
                }
            }
            for (int i = 0; i < c.size(); i++) {
                if (seen[c.id(i)]) {
                    float l = c.logit(i);
                    c.setLogit(i, l > 0 ? l / penalty : l * penalty);
                }
            }
            for (int j = from; j < length; j++) {
                if (history[j] >= 0 && history[j] < seen.length) {
                    seen[history[j]] = false;
                }
            }
        }
    }

    /** Divides every logit by the temperature. */
    public record Temperature(float temperature) implements LogitsProcessor {
        @Override
        public void apply(Candidates c, int[] history, int length) {
            float inv = 1f / temperature;
            for (int i = 0; i < c.size(); i++) {
                c.setLogit(i, c.logit(i) * inv);
            }
        }
    }

    /** Keeps the {@code k} highest logits. */
    public record TopK(int k) implements LogitsProcessor {
        @Override
        public void apply(Candidates c, int[] history, int length) {
            if (k > 0 && k < c.size()) {
                c.sortDescending();
                c.truncate(k);
            }
        }
    }

    /** Keeps the smallest set of most likely tokens whose probabilities add up to at least {@code p}. */
    public record TopP(float p, double[] scratch) implements LogitsProcessor {
        public TopP(float p, int vocabularySize) {
            this(p, new double[vocabularySize]);
        }

        @Override
        public void apply(Candidates c, int[] history, int length) {
            if (p >= 1f || c.size() <= 1) {
                return;
            }
            c.sortDescending();
            c.probabilities(scratch);
            double cumulative = 0;
            for (int i = 0; i < c.size(); i++) {
                cumulative += scratch[i];
                if (cumulative >= p) {
                    c.truncate(i + 1);
                    return;
                }
            }
        }
    }

    /** Keeps the tokens whose probability is at least {@code minP} times the most likely one's. */
    public record MinP(float minP) implements LogitsProcessor {
        @Override
        public void apply(Candidates c, int[] history, int length) {
            if (minP <= 0f || c.size() <= 1) {
                return;
            }
            c.sortDescending();
            // p_i >= minP * p_max  <=>  logit_i >= logit_max + ln(minP)
            double threshold = c.logit(0) + Math.log(minP);
            int keep = 1;
            while (keep < c.size() && c.logit(keep) >= threshold) {
                keep++;
            }
            c.truncate(keep);
        }
    }
}
