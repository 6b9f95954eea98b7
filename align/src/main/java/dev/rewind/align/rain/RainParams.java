package dev.rewind.align.rain;

import java.util.Arrays;

/**
 * Every constant of RAIN's search, named after ALGORITHMS.md §1.10 ("Defaults in the official code").
 * {@link RainPreset} gives the HH, adversarial and TruthfulQA sets; {@link #builder()} starts from HH.
 *
 * @param maxSearches              T: inner iterations per commit, visits inherited from the re-rooted subtree included (50)
 * @param searchFloor              new iterations a commit may always run, whatever it inherited (15)
 * @param commitVisits             T_m: commit early once the most visited child's real visits {@code fn} exceed this (HH 6, adv 5, truth 16)
 * @param commitValue              V: ... and its value {@code q} exceeds this (0.8)
 * @param cPuct                    c of the PUCT selection (2)
 * @param similarityThreshold      siblings whose embedding cosine with a backed-up node reaches this share its value (0.95)
 * @param similarityDiscount       γ of that sharing: a sibling gets weight {@code γ · cosine} (0.2)
 * @param backupDiscount           discount of the value from a node to its parent (1)
 * @param stepReward               reward added at every node on the way up (0)
 * @param expansionWidth           children proposed per expansion: the greedy span and up to width − 1 sampled ones (10)
 * @param sampleAttempts           sampled rollouts tried per expansion to find width − 1 distinct spans (HH/truth 9, adv 19)
 * @param spanLengths              tokens per child by the parent's depth from the request's first root, the last repeating (1, 2, 4, 10)
 * @param candidateTopK            rollout tokens are drawn from this many most likely tokens (15)
 * @param candidateTemperature     temperature of those draws and of the span probabilities (HH/truth 1, adv 2)
 * @param singleTokenTopK          children of a one-token expansion: the top-k tokens (10)
 * @param singleTokenTemperature   temperature of their priors (HH/truth 1, adv 2)
 * @param rootPriorNoise           share of the uniform prior mixed into a root's children: {@code (1 − x)·p + x/K} (0.25)
 * @param dynamicAddMaxChildren    no child is added to a node with this many (20)
 * @param dynamicAddVarianceFactor add a child when the norm of the children's embedding variance is below this × span length (0.03)
 * @param dynamicAddMaxValue       ... and every child's value is below this (0)
 * @param dynamicAddWidth          rollouts of a dynamic addition: the greedy one and width − 1 sampled attempts (2)
 * @param clauseEnds               the simulation stops when the text ends with one of these characters (HH/adv {@code ,.?:;\n}; truth none)
 * @param simulationStopsAtTurn    the simulation also stops when a new turn marker appears (HH/adv yes, truth no)
 * @param simulationStopsAtEnd     the simulation stops when the state already holds an end-of-generation token (truth yes)
 * @param stopAtEndOfGeneration    the request ends when a committed span holds an end-of-generation token, cut after it
 *                                 (adv/truth yes; the HH script relies on the turn marker and the length)
 * @param maxLength                prompt plus answer tokens at most (2048)
 * @param maxNewTokens             answer tokens at most (not in the official code; {@link Integer#MAX_VALUE} = no limit)
 * @param seed                     seed of every draw (0)
 */
public record RainParams(int maxSearches, int searchFloor, int commitVisits, double commitValue, double cPuct,
                         double similarityThreshold, double similarityDiscount, double backupDiscount, double stepReward,
                         int expansionWidth, int sampleAttempts, int[] spanLengths, int candidateTopK, double candidateTemperature,
                         int singleTokenTopK, double singleTokenTemperature, double rootPriorNoise,
                         int dynamicAddMaxChildren, double dynamicAddVarianceFactor, double dynamicAddMaxValue, int dynamicAddWidth,
                         String clauseEnds, boolean simulationStopsAtTurn, boolean simulationStopsAtEnd, boolean stopAtEndOfGeneration,
                         int maxLength, int maxNewTokens, long seed) {

    /**
     * @throws IllegalArgumentException naming the first parameter out of range
     */
    public RainParams {
        positive("maxSearches", maxSearches);
        nonNegative("searchFloor", searchFloor);
        nonNegative("commitVisits", commitVisits);
        finite("commitValue", commitValue);
        nonNegativeFinite("cPuct", cPuct);
        finite("similarityThreshold", similarityThreshold);
        nonNegativeFinite("similarityDiscount", similarityDiscount);
        finite("backupDiscount", backupDiscount);
        finite("stepReward", stepReward);
        positive("expansionWidth", expansionWidth);
        nonNegative("sampleAttempts", sampleAttempts);
        if (spanLengths == null || spanLengths.length == 0) {
            throw new IllegalArgumentException("spanLengths needs at least one length");
        }
        spanLengths = spanLengths.clone();
        for (int l : spanLengths) {
            positive("spanLengths", l);
        }
        positive("candidateTopK", candidateTopK);
        positiveFinite("candidateTemperature", candidateTemperature);
        positive("singleTokenTopK", singleTokenTopK);
        positiveFinite("singleTokenTemperature", singleTokenTemperature);
        if (!(rootPriorNoise >= 0 && rootPriorNoise <= 1)) {
            throw new IllegalArgumentException("rootPriorNoise must be in [0, 1], got " + rootPriorNoise);
        }
        positive("dynamicAddMaxChildren", dynamicAddMaxChildren);
        nonNegativeFinite("dynamicAddVarianceFactor", dynamicAddVarianceFactor);
        finite("dynamicAddMaxValue", dynamicAddMaxValue);
        positive("dynamicAddWidth", dynamicAddWidth);
        if (clauseEnds == null) {
            throw new IllegalArgumentException("clauseEnds must not be null (empty: no clause stop)");
        }
        positive("maxLength", maxLength);
        positive("maxNewTokens", maxNewTokens);
    }

    /** A builder holding the HH defaults. */
    public static Builder builder() {
        return RainPreset.HH.builder();
    }

    /** A builder holding these values. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Tokens per child of a node at {@code depth} from the request's first root. */
    public int spanLength(int depth) {
        return spanLengths[Math.min(depth, spanLengths.length - 1)];
    }

    /** The longest span any node can have. */
    public int maxSpanLength() {
        return Arrays.stream(spanLengths).max().orElseThrow();
    }

    /** Whether {@code text} ends with a clause-ending character. */
    public boolean endsClause(String text) {
        return !text.isEmpty() && clauseEnds.indexOf(text.charAt(text.length() - 1)) >= 0;
    }

    @Override
    public int[] spanLengths() {
        return spanLengths.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RainParams p && toBuilder().sameAs(p.toBuilder());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(spanLengths) * 31 + Long.hashCode(seed) + maxSearches;
    }

    @Override
    public String toString() {
        return "RainParams[T=" + maxSearches + ", floor=" + searchFloor + ", T_m=" + commitVisits + ", V=" + commitValue
                + ", c=" + cPuct + ", similarity=" + similarityThreshold + "/" + similarityDiscount + ", width=" + expansionWidth
                + ", attempts=" + sampleAttempts + ", spans=" + Arrays.toString(spanLengths) + ", candidates=top-" + candidateTopK
                + "@T" + candidateTemperature + ", single=top-" + singleTokenTopK + "@T" + singleTokenTemperature
                + ", maxLength=" + maxLength + ", maxNewTokens=" + maxNewTokens + ", seed=" + seed + "]";
    }

    private static void positive(String name, int v) {
        if (v <= 0) {
            throw new IllegalArgumentException(name + " must be positive, got " + v);
        }
    }

    private static void nonNegative(String name, int v) {
        if (v < 0) {
            throw new IllegalArgumentException(name + " must be >= 0, got " + v);
        }
    }

    private static void finite(String name, double v) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException(name + " must be a finite number, got " + v);
        }
    }

    private static void nonNegativeFinite(String name, double v) {
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(name + " must be a finite number >= 0, got " + v);
        }
    }

    private static void positiveFinite(String name, double v) {
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(name + " must be a finite number > 0, got " + v);
        }
    }

    /** Mutable holder of every parameter, for presets and command-line overrides; {@link #build()} validates. */
    public static final class Builder {
        public int maxSearches;
        public int searchFloor;
        public int commitVisits;
        public double commitValue;
        public double cPuct;
        public double similarityThreshold;
        public double similarityDiscount;
        public double backupDiscount;
        public double stepReward;
        public int expansionWidth;
        public int sampleAttempts;
        public int[] spanLengths;
        public int candidateTopK;
        public double candidateTemperature;
        public int singleTokenTopK;
        public double singleTokenTemperature;
        public double rootPriorNoise;
        public int dynamicAddMaxChildren;
        public double dynamicAddVarianceFactor;
        public double dynamicAddMaxValue;
        public int dynamicAddWidth;
        public String clauseEnds;
        public boolean simulationStopsAtTurn;
        public boolean simulationStopsAtEnd;
        public boolean stopAtEndOfGeneration;
        public int maxLength;
        public int maxNewTokens;
        public long seed;

        Builder() {
        }

        private Builder(RainParams p) {
            maxSearches = p.maxSearches;
            searchFloor = p.searchFloor;
            commitVisits = p.commitVisits;
            commitValue = p.commitValue;
            cPuct = p.cPuct;
            similarityThreshold = p.similarityThreshold;
            similarityDiscount = p.similarityDiscount;
            backupDiscount = p.backupDiscount;
            stepReward = p.stepReward;
            expansionWidth = p.expansionWidth;
            sampleAttempts = p.sampleAttempts;
            spanLengths = p.spanLengths.clone();
            candidateTopK = p.candidateTopK;
            candidateTemperature = p.candidateTemperature;
            singleTokenTopK = p.singleTokenTopK;
            singleTokenTemperature = p.singleTokenTemperature;
            rootPriorNoise = p.rootPriorNoise;
            dynamicAddMaxChildren = p.dynamicAddMaxChildren;
            dynamicAddVarianceFactor = p.dynamicAddVarianceFactor;
            dynamicAddMaxValue = p.dynamicAddMaxValue;
            dynamicAddWidth = p.dynamicAddWidth;
            clauseEnds = p.clauseEnds;
            simulationStopsAtTurn = p.simulationStopsAtTurn;
            simulationStopsAtEnd = p.simulationStopsAtEnd;
            stopAtEndOfGeneration = p.stopAtEndOfGeneration;
            maxLength = p.maxLength;
            maxNewTokens = p.maxNewTokens;
            seed = p.seed;
        }

        /** @throws IllegalArgumentException naming the first parameter out of range */
        public RainParams build() {
            return new RainParams(maxSearches, searchFloor, commitVisits, commitValue, cPuct, similarityThreshold, similarityDiscount,
                    backupDiscount, stepReward, expansionWidth, sampleAttempts, spanLengths, candidateTopK, candidateTemperature,
                    singleTokenTopK, singleTokenTemperature, rootPriorNoise, dynamicAddMaxChildren, dynamicAddVarianceFactor,
                    dynamicAddMaxValue, dynamicAddWidth, clauseEnds, simulationStopsAtTurn, simulationStopsAtEnd, stopAtEndOfGeneration,
                    maxLength, maxNewTokens, seed);
        }

        /** Sets the seed (for chaining). */
        public Builder seed(long value) {
            seed = value;
            return this;
        }

        /** Sets the answer-length cap (for chaining). */
        public Builder maxNewTokens(int value) {
            maxNewTokens = value;
            return this;
        }

        /** Sets T (for chaining). */
        public Builder maxSearches(int value) {
            maxSearches = value;
            return this;
        }

        boolean sameAs(Builder o) {
            return maxSearches == o.maxSearches && searchFloor == o.searchFloor && commitVisits == o.commitVisits
                    && commitValue == o.commitValue && cPuct == o.cPuct && similarityThreshold == o.similarityThreshold
                    && similarityDiscount == o.similarityDiscount && backupDiscount == o.backupDiscount && stepReward == o.stepReward
                    && expansionWidth == o.expansionWidth && sampleAttempts == o.sampleAttempts
                    && Arrays.equals(spanLengths, o.spanLengths) && candidateTopK == o.candidateTopK
                    && candidateTemperature == o.candidateTemperature && singleTokenTopK == o.singleTokenTopK
                    && singleTokenTemperature == o.singleTokenTemperature && rootPriorNoise == o.rootPriorNoise
                    && dynamicAddMaxChildren == o.dynamicAddMaxChildren && dynamicAddVarianceFactor == o.dynamicAddVarianceFactor
                    && dynamicAddMaxValue == o.dynamicAddMaxValue && dynamicAddWidth == o.dynamicAddWidth
                    && clauseEnds.equals(o.clauseEnds) && simulationStopsAtTurn == o.simulationStopsAtTurn
                    && simulationStopsAtEnd == o.simulationStopsAtEnd && stopAtEndOfGeneration == o.stopAtEndOfGeneration
                    && maxLength == o.maxLength && maxNewTokens == o.maxNewTokens && seed == o.seed;
        }
    }
}
