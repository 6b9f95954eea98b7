package dev.rewind.align.rain;

import dev.rewind.engine.logits.TokenSequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.engine.logits.LogitsSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One RAIN request: the commit loop (§1.3) around inner iterations (§1.4) on a tree whose nodes hold
 * their own sequences. The committed state is the root's sequence; an inner iteration descends by
 * PUCT (adding children where §1.8 asks), evaluates the leaf (simulation and judge, §1.6), expands it
 * (§1.5) and backs the score up (§1.7). It evaluates nothing twice that is still held: the prompt
 * once, every span once (when the node is first reached), rollouts and simulation of one leaf on one
 * shared trie. "Rewinding" is closing what the iteration made and did not keep. Not thread-safe.
 */
final class RainSearch {

    /** Told after every inner iteration (tests check the committed state there). */
    interface Listener {
        void afterSearch(RainSearch search);
    }

    /** The observer of a request nobody watches: hears nothing, never halts. */
    static final Rain.Observer NO_OBSERVER = new Rain.Observer() {
    };

    private final LogitsSource generator;
    private final Texts texts;
    private final Conversation conversation;
    private final Judge judge;
    private final RainParams params;
    private final Backup backup;
    private final SplittableRandom random;
    private final Map<String, Judgement> scores = new HashMap<>();
    private final Puct.Bounds bounds = new Puct.Bounds();
    private final int[] promptTokens;
    private final int promptTurns;
    private final int maxLength;
    private final TraceRecorder trace;
    private final int maxNewTokens;

    private final IntList committed;
    private SearchNode root;
    private int nextId;
    private int searches;
    private int commits;
    private long simulatedTokens;

    /**
     * @param maxLength prompt plus answer tokens at most, already clamped to what the KV cache of one sequence holds
     * @param trace     records the tree at every commit, or null
     */
    RainSearch(LogitsSource generator, Texts texts, Conversation conversation, Judge judge, Embedder embedder, RainParams params,
               int[] promptTokens, int maxLength, TraceRecorder trace) {
        this(generator, texts, conversation, judge, embedder, params, promptTokens, maxLength, trace, params.maxNewTokens());
    }

    /** @param maxNewTokens answer tokens at most: the parameter's, or a request's lower cap */
    RainSearch(LogitsSource generator, Texts texts, Conversation conversation, Judge judge, Embedder embedder, RainParams params,
               int[] promptTokens, int maxLength, TraceRecorder trace, int maxNewTokens) {
        this.generator = generator;
        this.texts = texts;
        this.conversation = conversation;
        this.judge = judge;
        this.params = params;
        this.backup = new Backup(texts, embedder, params);
        this.random = new SplittableRandom(params.seed());
        this.promptTokens = promptTokens.clone();
        this.promptTurns = conversation.turns(texts.decode(promptTokens));
        this.maxLength = maxLength;
        this.trace = trace;
        this.maxNewTokens = Math.min(maxNewTokens, params.maxNewTokens());
        if (this.maxNewTokens < 1) {
            throw new IllegalArgumentException("a RAIN answer needs room for at least one token, got a cap of " + maxNewTokens);
        }
        this.committed = new IntList(promptTokens);
    }

    /** Runs the commit loop to its end; the tree's sequences are closed whatever happens. */
    /** Evaluates the prompt into the first root. */
    void start() {
        root = new SearchNode(nextId++, new int[0], 0, null, 0);
        root.sequence = generator.newSequence();
        root.pending = promptTokens.clone();
        evaluatePending(root);
    }

    /** Releases the tree's sequences. */
    void close() {
        if (root != null) {
            root.closeSubtree();
        }
    }

    StopReason run(Listener listener) {
        return run(listener, NO_OBSERVER);
    }

    /** The commit loop; {@code observer} hears every commit and may halt the search between iterations. */
    StopReason run(Listener listener, Rain.Observer observer) {
        try {
            start();
            if (observer.halt()) {
                return StopReason.HALTED;
            }
            int inherited = 0;
            while (true) {
                int cap = Math.max(params.maxSearches(), inherited + params.searchFloor()) - inherited;
                int ran = 0;
                for (int i = 0; i < cap; i++) {
                    innerSearch();
                    searches++;
                    ran++;
                    if (listener != null) {
                        listener.afterSearch(this);
                    }
                    if (observer.halt()) {
                        return StopReason.HALTED;
                    }
                    SearchNode best = Puct.mostVisited(root);
                    if (best != null && best.realVisits > params.commitVisits() && best.value > params.commitValue()) {
                        break;
                    }
                }
                SearchNode move = Puct.mostVisited(root);
                if (move == null) {
                    return StopReason.END_OF_GENERATION;
                }
                if (trace != null) {
                    trace.commit(commits, ran, inherited, answerText(), move, root, bounds, texts);
                }
                inherited = commit(move);
                StopReason stop = stopAfterCommit(move);
                if (observer != NO_OBSERVER) {
                    observer.afterCommit(answerText(), answerTokens());
                }
                if (stop != null) {
                    return stop;
                }
                if (observer.halt()) {
                    return StopReason.HALTED;
                }
            }
        } finally {
            close();
        }
    }

    /** Moves the root to {@code move}, dropping its siblings' subtrees; returns the real visits it brings. */
    private int commit(SearchNode move) {
        committed.addAll(move.tokens);
        for (SearchNode c : root.children) {
            if (c != move) {
                c.closeSubtree();
            }
        }
        if (root.expansion instanceof Expansion.Spans s) {
            s.trie().discard();
        }
        root.sequence.close();
        root.sequence = null;
        move.parent = null;
        int k = move.children.size();
        if (k > 0) {
            double total = 0;
            for (SearchNode c : move.children) {
                c.prior = (1 - params.rootPriorNoise()) * c.prior + params.rootPriorNoise() / k;
                total += c.prior;
            }
            for (SearchNode c : move.children) {
                c.prior /= total;
            }
        }
        root = move;
        commits++;
        return move.realVisits;
    }

    private StopReason stopAfterCommit(SearchNode move) {
        if (params.stopAtEndOfGeneration()) {
            for (int i = 0; i < move.tokens.length; i++) {
                if (texts.isEnd(move.tokens[i])) {
                    committed.truncate(committed.size() - move.tokens.length + i + 1);
                    return StopReason.END_OF_GENERATION;
                }
            }
        }
        if (conversation.turns(texts.decode(committed)) > promptTurns) {
            return StopReason.TURN_MARKER;
        }
        if (committed.size() > maxLength) {
            return StopReason.MAX_LENGTH;
        }
        if (committed.size() - promptTokens.length >= maxNewTokens) {
            committed.truncate(promptTokens.length + maxNewTokens);
            return StopReason.MAX_NEW_TOKENS;
        }
        return null;
    }

    /** One inner iteration: select, evaluate, expand, back up. */
    void innerSearch() {
        IntList state = committed.copy();
        SearchNode node = root;
        while (!node.isLeaf()) {
            if (DynamicAddition.needed(node, params)) {
                addChild(node);
            }
            node = Puct.select(node, bounds, params.cPuct());
            state.addAll(node.tokens);
        }
        boolean terminal = isTerminal(node, state);
        Simulation sim = simulate(node, state);
        try {
            String judged = conversation.judgedText(texts.decode(sim.tokens()), promptTurns);
            Judgement verdict = scores.computeIfAbsent(judged, judge::judge);
            node.judgement = verdict;
            node.judgedText = judged;
            node.evaluations++;
            if (!terminal) {
                expand(node, sim);
            }
            backup.backup(node, verdict.score(), sim.tokens().toArray(), sim.tokens().size() - state.size(), bounds);
        } finally {
            sim.close();
        }
    }

    /** A leaf that is not expanded: too long, holding an end token, past a new turn, or at the answer cap. */
    private boolean isTerminal(SearchNode node, IntList state) {
        return state.size() > maxLength
                || texts.containsEnd(node.tokens, 0, node.tokens.length)
                || (params.simulationStopsAtTurn() && conversation.turns(texts.decode(state)) > promptTurns)
                || state.size() - promptTokens.length >= params.maxNewTokens();
    }

    /**
     * The simulation (§1.6): sample from the full softmax until the text ends a clause (or the state
     * is too long, or a new turn starts, or an end token is drawn). Positions it evaluates are kept for
     * the expansion that follows.
     */
    private Simulation simulate(SearchNode node, IntList state) {
        Simulation sim = new Simulation(state.copy(), state.size());
        IntList t = sim.tokens();
        float[] logits = null;
        while (true) {
            if (t.size() > maxLength) {
                break;
            }
            if (params.simulationStopsAtEnd() && texts.containsEnd(t.array(), 0, t.size())) {
                break;
            }
            String text = texts.decode(t);
            if (params.endsClause(text)) {
                break;
            }
            if (params.simulationStopsAtTurn() && conversation.turns(text) > promptTurns) {
                break;
            }
            if (sim.sequence == null) {
                evaluatePending(node);
                logits = node.logits;
                sim.sequence = node.sequence.fork();
            } else if (logits == null) {
                logits = generator.forward(Batch.single(sim.sequence, t.get(t.size() - 1))).row(0).clone();
                sim.rows.add(logits);
                simulatedTokens++;
            }
            int token = TopTokens.drawFull(logits, random);
            t.add(token);
            logits = null;
            if (texts.isEnd(token)) {
                break;
            }
        }
        return sim;
    }

    /** A simulation's tokens (state first) and the positions it evaluated, on its own sequence. */
    static final class Simulation implements AutoCloseable {
        private final IntList tokens;
        private final int start;
        TokenSequence sequence;
        final List<float[]> rows = new ArrayList<>();
        private boolean handedOver;

        Simulation(IntList tokens, int start) {
            this.tokens = tokens;
            this.start = start;
        }

        IntList tokens() {
            return tokens;
        }

        /** The simulated tokens, after the state. */
        int[] simulated() {
            return Arrays.copyOfRange(tokens.array(), start, tokens.size());
        }

        /** Gives the sequence and rows to a trie (which closes the sequence). */
        void handTo(RolloutTrie trie, int keepRowAt) {
            if (sequence != null && !rows.isEmpty()) {
                trie.seed(simulated(), sequence, rows, keepRowAt);
                handedOver = true;
            }
        }

        @Override
        public void close() {
            if (sequence != null && !handedOver) {
                sequence.close();
            }
        }
    }

    /** Expands a leaf (§1.5): one-token children at the first root, spans of the depth's length below. */
    private void expand(SearchNode node, Simulation sim) {
        evaluatePending(node);
        int length = params.spanLength(node.depth);
        RolloutTrie trie = new RolloutTrie(generator, node.sequence, node.logits, params.candidateTopK(), params.candidateTemperature());
        sim.handTo(trie, length);
        List<Candidate> candidates;
        if (length == 1) {
            TopTokens top = TopTokens.of(node.logits, Math.max(params.singleTokenTopK(), params.dynamicAddMaxChildren()));
            double[] p = top.probabilities(params.singleTokenTopK(), params.singleTokenTemperature());
            candidates = new ArrayList<>();
            for (int i = 0; i < p.length; i++) {
                candidates.add(new Candidate(new int[]{top.ids()[i]}, p[i]));
            }
            node.expansion = new Expansion.Tokens(top.first(params.dynamicAddMaxChildren()));
        } else {
            candidates = candidates(trie, length, params.expansionWidth(), params.sampleAttempts());
            node.expansion = new Expansion.Spans(candidates, trie);
        }
        double[] priors = priors(candidates, node.isRoot());
        for (int i = 0; i < candidates.size(); i++) {
            addChild(node, trie, candidates.get(i).tokens(), priors[i]);
        }
        settle(node, trie);
        node.logits = null;
    }

    /**
     * The greedy span and up to {@code width − 1} distinct sampled ones (§1.5), all rollouts of a round
     * in lock-step on the trie; each sampled attempt draws from its own random stream, split off in
     * attempt order, so rounds find the same spans a one-by-one loop would.
     */
    private List<Candidate> candidates(RolloutTrie trie, int length, int width, int attempts) {
        int wanted = width - 1;
        RolloutTrie.Rollout greedy = null;
        List<RolloutTrie.Rollout> sampled = new ArrayList<>();
        int started = 0;
        while (greedy == null || (sampled.size() < wanted && started < attempts)) {
            int n = Math.max(0, Math.min(attempts - started, wanted - sampled.size()));
            List<RolloutTrie.Drawer> drawers = new ArrayList<>();
            if (greedy == null) {
                drawers.add(RolloutTrie.Drawer.GREEDY);
            }
            for (int i = 0; i < n; i++) {
                drawers.add(new RolloutTrie.Drawer(random.split()));
            }
            List<RolloutTrie.Rollout> results = trie.run(length, drawers);
            int from = 0;
            if (greedy == null) {
                greedy = results.getFirst();
                from = 1;
            }
            for (int i = from; i < results.size() && sampled.size() < wanted; i++) {
                RolloutTrie.Rollout r = results.get(i);
                if (!Arrays.equals(r.tokens(), greedy.tokens()) && sampled.stream().noneMatch(s -> Arrays.equals(s.tokens(), r.tokens()))) {
                    sampled.add(r);
                }
            }
            started += n;
            if (n == 0) {
                break;
            }
        }
        double pg = greedy.probability();
        if (!sampled.isEmpty()) {
            double sum = 0;
            double max = Double.NEGATIVE_INFINITY;
            double min = Double.POSITIVE_INFINITY;
            for (RolloutTrie.Rollout r : sampled) {
                sum += r.probability();
                max = Math.max(max, r.probability());
                min = Math.min(min, r.probability());
            }
            pg = Math.max(Math.min(pg, sum), max + min);
        }
        List<Candidate> out = new ArrayList<>();
        out.add(new Candidate(greedy.tokens(), pg));
        for (RolloutTrie.Rollout r : sampled) {
            out.add(new Candidate(r.tokens(), r.probability()));
        }
        return out;
    }

    /** Probabilities normalised over the list; at a root mixed with the uniform prior and normalised again. */
    private double[] priors(List<Candidate> candidates, boolean atRoot) {
        int k = candidates.size();
        double[] p = new double[k];
        double total = 0;
        for (int i = 0; i < k; i++) {
            p[i] = candidates.get(i).probability();
            total += p[i];
        }
        for (int i = 0; i < k; i++) {
            p[i] /= total;
        }
        if (atRoot) {
            double x = params.rootPriorNoise();
            double sum = 0;
            for (int i = 0; i < k; i++) {
                p[i] = (1 - x) * p[i] + x / k;
                sum += p[i];
            }
            for (int i = 0; i < k; i++) {
                p[i] /= sum;
            }
        }
        return p;
    }

    /** Dynamic node addition (§1.8) at {@code node}, whose state is {@code node.sequence}. */
    private void addChild(SearchNode node) {
        int k = node.children.size();
        switch (node.expansion) {
            case Expansion.Tokens t -> {
                TopTokens top = t.raw().first(k + 1);
                List<Candidate> list = new ArrayList<>();
                double[] p = top.probabilities(k + 1, 1.0);
                for (int i = 0; i < top.size(); i++) {
                    list.add(new Candidate(new int[]{top.ids()[i]}, p[i]));
                }
                double[] priors = priors(list, node.isRoot());
                for (int i = 0; i < list.size(); i++) {
                    int[] span = list.get(i).tokens();
                    if (node.child(span) == null) {
                        SearchNode c = newChild(node, span, priors[i]);
                        c.sequence = node.sequence.fork();
                        c.pending = span;
                    }
                }
            }
            case Expansion.Spans s -> {
                int length = params.spanLength(node.depth);
                List<Candidate> fresh = candidates(s.trie(), length, params.dynamicAddWidth(), params.dynamicAddWidth() - 1);
                List<Candidate> list = new ArrayList<>(fresh);
                list.addAll(s.candidates());
                List<Candidate> head = list.subList(0, Math.min(k + 1, list.size()));
                double[] priors = priors(head, node.isRoot());
                for (int i = 0; i < head.size(); i++) {
                    int[] span = head.get(i).tokens();
                    if (node.child(span) == null) {
                        addChild(node, s.trie(), span, priors[i]);
                    }
                }
                settle(node, s.trie());
                node.expansion = new Expansion.Spans(list, s.trie());
            }
        }
    }

    private void addChild(SearchNode node, RolloutTrie trie, int[] span, double prior) {
        RolloutTrie.ChildState state = trie.childState(span);
        SearchNode c = newChild(node, span, prior);
        c.sequence = state.sequence();
        c.pending = state.pending();
        c.logits = state.logits();
    }

    private SearchNode newChild(SearchNode node, int[] span, double prior) {
        SearchNode c = new SearchNode(nextId++, span, node.depth + 1, node, prior);
        node.children.add(c);
        return c;
    }

    private static void settle(SearchNode node, RolloutTrie trie) {
        List<int[]> spans = new ArrayList<>();
        List<TokenSequence> sequences = new ArrayList<>();
        for (SearchNode c : node.children) {
            spans.add(c.tokens);
            sequences.add(c.sequence);
        }
        trie.settle(spans, sequences);
    }

    /** Evaluates a node's pending span tokens, once, keeping the logits after them. */
    private void evaluatePending(SearchNode node) {
        if (node.pending.length == 0) {
            return;
        }
        int[] p = node.pending;
        float[] last = null;
        for (int from = 0; from < p.length; from += PREFILL_CHUNK) {
            int to = Math.min(p.length, from + PREFILL_CHUNK);
            Batch batch = Batch.of(List.of(new Batch.Entry(node.sequence, Arrays.copyOfRange(p, from, to),
                    to == p.length ? Batch.Wanted.LAST : Batch.Wanted.NONE)));
            var logits = generator.forward(batch);
            if (to == p.length) {
                last = logits.row(0).clone();
            }
        }
        node.logits = last;
        node.pending = new int[0];
    }

    /** Prompt tokens per forward call when the prompt is evaluated. */
    static final int PREFILL_CHUNK = 256;

    // Views for the request and for tests.

    SearchNode root() {
        return root;
    }

    int searches() {
        return searches;
    }

    int commits() {
        return commits;
    }

    long simulatedTokens() {
        return simulatedTokens;
    }

    int[] committedTokens() {
        return committed.toArray();
    }

    int[] answerTokens() {
        return Arrays.copyOfRange(committed.array(), promptTokens.length, committed.size());
    }

    /** The committed answer text: the decoded state past the decoded prompt, cut before a new user turn. */
    String answerText() {
        String full = conversation.cutBeforeTurn(texts.decode(committed), promptTurns);
        String prompt = texts.decode(promptTokens);
        return full.startsWith(prompt) ? full.substring(prompt.length()) : texts.decode(answerTokens());
    }
}
