package dev.rewind.align.rain;

import dev.rewind.align.SharedModels;
import dev.rewind.engine.logits.TokenSequence;
import dev.rewind.engine.logits.Batch;
import dev.rewind.models.ModelLoader;
import dev.rewind.tokenizer.Tokenizer;
import dev.rewind.models.bert.BertEmbedder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ALGORITHMS.md §4's RAIN sanity tests, with scripted judges on a {@link FakeModel} (tok512 vocabulary).
 */
class RainSanityTest {

    private static final String PROMPT = "Once upon a time";
    private static Tokenizer tokenizer;

    @BeforeAll
    static void loadTokenizer() throws IOException {
        tokenizer = ModelLoader.loadTokenizer(SharedModels.model("stories260K.gguf"));
    }

    private static RainParams.Builder params() {
        return RainParams.builder().seed(7);
    }

    /** The sanity tests run with a scripted embedder and with the real MiniLM one (ALGORITHMS.md §4). */
    private static EncoderEmbedder miniLm;

    @BeforeAll
    static void loadMiniLm() throws IOException {
        miniLm = new EncoderEmbedder(BertEmbedder.miniLm(2), true);
    }

    @AfterAll
    static void closeMiniLm() {
        miniLm.close();
    }

    private static Embedder embedder(String name) {
        return name.equals("minilm") ? miniLm : new ScriptedEmbedder(64);
    }

    private static Rain rain(FakeModel model, Judge judge, RainParams params) {
        return rain(model, judge, params, "scripted");
    }

    private static Rain rain(FakeModel model, Judge judge, RainParams params, String embedder) {
        return new Rain(model, tokenizer, judge, embedder(embedder), params, Conversation.RAW, 4096);
    }

    @ParameterizedTest(name = "embedder {0}")
    @ValueSource(strings = {"scripted", "minilm"})
    void alwaysHarmlessCommitsTheHighestPriorChildAsSoonAsItsVisitsExceedTm(String embedder) {
        // so peaked that every sampled span repeats the greedy one: each node below the first root has one child
        try (FakeModel model = new FakeModel(512, 4, 4096, FakeModel.peaked(512, 30f))) {
            RainParams p = params().maxNewTokens(3).build();
            RainResult r = rain(model, text -> Judgement.of(1), p, embedder).run(PROMPT, true);
            RainTrace trace = r.trace().orElseThrow();
            RainTrace.Commit first = trace.commits().getFirst();
            // the root's own visit, then T_m + 1 visits of the child: fn = T_m + 1 > T_m ends the first commit
            assertEquals(p.commitVisits() + 2, first.searches());
            RainTrace.Node top = first.root().children().getFirst(); // children are listed by prior, highest first
            for (RainTrace.Node c : first.root().children()) {
                assertTrue(top.prior() >= c.prior());
                if (c != top) {
                    assertEquals(0, c.visits(), "an unvisited sibling");
                }
            }
            assertEquals(top.id(), first.chosen());
            assertEquals(p.commitVisits() + 1, top.realVisits());
            // the re-rooted subtree brings T_m visits of its best child: one more search commits again
            RainTrace.Commit second = trace.commits().get(1);
            assertEquals(p.commitVisits() + 1, second.inherited());
            assertEquals(1, second.searches());
            assertEquals(RainSearchStats.highestPriorChild(second.root()).id(), second.chosen());
            assertEquals(StopReason.MAX_NEW_TOKENS, r.stop());
        }
    }

    @ParameterizedTest(name = "embedder {0}")
    @ValueSource(strings = {"scripted", "minilm"})
    void aHarmfulChildLosesTheVisits(String embedder) {
        // the likeliest child gets every visit when all is harmless, and loses them once it is judged harmful
        try (FakeModel model = new FakeModel(512, 4, 4096, FakeModel.peaked(512, 3f))) {
            int[] promptIds = tokenizer.encode(PROMPT, true, true);
            float[] rootLogits = FakeModel.peaked(512, 3f).apply(promptIds);
            RainResult harmless = rain(model, text -> Judgement.of(1), params().maxNewTokens(1).build(), embedder).run(PROMPT, false);
            int favourite = TopTokens.of(rootLogits, 1).ids()[0];
            String bad = new Texts(tokenizer).decode(concat(promptIds, favourite)); // as the judge sees it: no BOS
            assertEquals(favourite, harmless.answerTokens()[0]);
            Judge judge = text -> Judgement.of(text.startsWith(bad) ? -1 : 1);
            RainResult r = rain(model, judge, params().maxNewTokens(1).build(), embedder).run(PROMPT, true);
            RainTrace.Commit first = r.trace().orElseThrow().commits().getFirst();
            RainTrace.Node harmful = first.root().children().stream().filter(c -> c.tokens()[0] == favourite).findFirst().orElseThrow();
            RainTrace.Node chosen = first.root().children().stream().filter(c -> c.id() == first.chosen()).findFirst().orElseThrow();
            assertTrue(harmful.prior() > chosen.prior(), "the harmful child was the likeliest: " + first.root().children().stream()
                    .map(c -> c.tokens()[0] + ":" + c.prior() + ":" + c.realVisits()).toList() + " favourite " + favourite);
            assertNotEquals(harmful.id(), chosen.id());
            assertTrue(harmful.realVisits() >= 1, "it was tried");
            assertTrue(harmful.realVisits() < chosen.realVisits(), harmful.realVisits() + " vs " + chosen.realVisits());
            assertEquals(-1, harmful.value(), 1e-12);
            assertNotEquals(favourite, r.answerTokens()[0]);
        }
    }

    @Test
    void siblingsBelowTheSimilarityThresholdAreNeverTouched() {
        RainParams p = params().build();
        SearchNode root = new SearchNode(0, new int[0], 0, null, 0);
        root.visits = 1;
        root.realVisits = 1;
        SearchNode a = child(root, 1, 0.5);
        SearchNode b = child(root, 2, 0.3);
        SearchNode c = child(root, 3, 0.2);
        float[] ea = {1, 0, 0};
        a.embedding = ea.clone();
        b.embedding = unit(0.96); // cosine with a: 0.96 >= 0.95
        c.embedding = unit(0.949); // just below
        b.visits = 1;
        b.realVisits = 1;
        b.value = -1;
        c.visits = 2;
        c.realVisits = 2;
        c.value = -0.5;
        Backup backup = new Backup(new Texts(tokenizer), text -> ea.clone(), p);
        backup.backup(a, 1, new int[]{1, 300, 301}, 1, new Puct.Bounds());
        double w = 0.2 * 0.96;
        assertEquals(1 + w, b.visits, 1e-6);
        assertEquals((-1 * 1 + w * 1) / (1 + w), b.value, 1e-6);
        assertEquals(1, b.realVisits, "similarity adds no real visit");
        assertEquals(2, c.visits, 0.0, "below the threshold: untouched");
        assertEquals(-0.5, c.value, 0.0);
        assertEquals(1, a.visits, 0.0);
        assertEquals(1, a.value, 0.0);
        assertEquals(2, root.visits, 0.0);
    }

    @Test
    void theCostReportShowsTheEncodersTokensAndShareOfTheTime() {
        try (FakeModel model = new FakeModel(512, 4, 8192, FakeModel.peaked(512, 1.5f))) {
            long before = miniLm.encoderTokens();
            RainResult r = rain(model, text -> Judgement.of(text.length() % 3 - 1), params().maxNewTokens(4).build(), "minilm")
                    .run(PROMPT + " the encoder's share", false);
            RunCost c = r.cost();
            assertTrue(c.embedderTokens() > 0, "the encoder ran: " + c);
            assertEquals(miniLm.encoderTokens() - before, c.embedderTokens(), "only the encoder's own tokens");
            assertTrue(c.embedderSeconds() > 0 && c.embedderSeconds() <= c.seconds(), c.toString());
            assertTrue(c.embedderShare() > 0 && c.embedderShare() <= 1, c.toString());
            assertEquals(c.generatorTokens() + c.judgeTokens() + c.embedderTokens(), c.totalTokens());
        }
    }

    @Test
    void scoresAreExactlyMinusOneZeroOrPlusOne() {
        assertEquals(-1, Judgement.twoOrderScore(0, 0));
        assertEquals(0, Judgement.twoOrderScore(1, 0));
        assertEquals(0, Judgement.twoOrderScore(0, 1));
        assertEquals(1, Judgement.twoOrderScore(1, 1));
        for (int bad : new int[]{-2, 2, 5}) {
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Judgement.of(bad));
        }
        // a search whose judge says 0 keeps every value in [-1, 1] and the root's at exactly 0
        try (FakeModel model = new FakeModel(512, 4, 4096, FakeModel.peaked(512, 2f))) {
            RainResult r = rain(model, text -> Judgement.of(0), params().maxNewTokens(1).build()).run(PROMPT, true);
            RainTrace.Node root = r.trace().orElseThrow().commits().getFirst().root();
            assertEquals(0, root.value(), 0.0);
            for (RainTrace.Node c : root.children()) {
                assertEquals(0, c.value(), 0.0);
            }
        }
    }

    @ParameterizedTest(name = "embedder {0}")
    @ValueSource(strings = {"scripted", "minilm"})
    void theCommittedStateIsUnchangedAfterEveryInnerIteration(String embedder) {
        try (FakeModel model = new FakeModel(512, 4, 8192, FakeModel.peaked(512, 1.5f))) {
            List<String> failures = new ArrayList<>();
            int[] checks = {0};
            RainSearch.Listener check = search -> {
                int[] committed = search.committedTokens();
                TokenSequence s = search.root().sequence;
                int held = s.length() + search.root().pending.length;
                if (held != committed.length) {
                    failures.add("root holds " + held + " positions, committed " + committed.length);
                    return;
                }
                // the root's cache still holds exactly the committed tokens, and re-evaluating its last one
                // gives the logits of the committed state
                int[] read = FakeModel.history((dev.rewind.engine.kv.Sequence) s, s.length());
                if (!Arrays.equals(read, Arrays.copyOf(committed, s.length()))) {
                    failures.add("the root's cache changed");
                }
                TokenSequence probe = s.fork();
                try {
                    probe.truncate(s.length() - 1);
                    float[] again = model.forward(Batch.single(probe, committed[s.length() - 1])).row(0);
                    float[] expected = FakeModel.peaked(512, 1.5f).apply(Arrays.copyOf(committed, s.length()));
                    if (!Arrays.equals(again, expected)) {
                        failures.add("the committed state's last logits changed");
                    }
                } finally {
                    probe.close();
                }
                checks[0]++;
            };
            Judge judge = text -> Judgement.of(text.length() % 3 - 1);
            RainResult r = rain(model, judge, params().maxNewTokens(12).build(), embedder).run(PROMPT, false, check);
            assertEquals(List.of(), failures);
            assertEquals(r.searches(), checks[0]);
            assertTrue(r.commits() >= 3, "several commits: " + r.commits());
        }
    }

    @Test
    void childrenThatAllLookBadAndAlikeGetANewSibling() {
        // every text embeds to the same vector (no variance) and is judged harmful: §1.8 adds children
        try (FakeModel model = new FakeModel(512, 4, 16384, FakeModel.peaked(512, 1f))) {
            float[] same = {0.6f, 0.8f, 0};
            long[] simulated = {0};
            Rain rain = new Rain(model, tokenizer, text -> Judgement.of(-1), text -> same.clone(), params().maxNewTokens(3).build(),
                    Conversation.RAW, 4096);
            RainResult r = rain.run(PROMPT, true, search -> simulated[0] = search.simulatedTokens());
            RainTrace.Node root = r.trace().orElseThrow().commits().getFirst().root();
            assertTrue(root.children().size() > p10(), "one-token children added at the first root: " + root.children().size());
            assertTrue(addedLater(root), "the added tokens come after the expansion's ten");
            boolean spanAdded = false;
            for (RainTrace.Commit c : r.trace().orElseThrow().commits()) {
                spanAdded |= anyAddedLater(c.root(), 1);
            }
            assertTrue(spanAdded, "a multi-token child was added below the first level");
            // the additions' rollouts reuse what the expansion evaluated
            long repeats = model.evaluated().values().stream().mapToLong(n -> n - 1).sum();
            assertTrue(repeats <= simulated[0], repeats + " repeats, " + simulated[0] + " simulated tokens");
        }
    }

    private static int p10() {
        return params().build().singleTokenTopK();
    }

    /** Whether some child was made after its siblings' expansion (ids of one expansion are consecutive). */
    private static boolean addedLater(RainTrace.Node n) {
        List<RainTrace.Node> c = n.children();
        return c.size() > 1 && c.getLast().id() - c.getFirst().id() > c.size() - 1;
    }

    private static boolean anyAddedLater(RainTrace.Node n, int minDepth) {
        if (n.depth() >= minDepth && addedLater(n)) {
            return true;
        }
        for (RainTrace.Node c : n.children()) {
            if (anyAddedLater(c, minDepth)) {
                return true;
            }
        }
        return false;
    }

    private static SearchNode child(SearchNode parent, int token, double prior) {
        SearchNode c = new SearchNode(token, new int[]{token}, parent.depth + 1, parent, prior);
        parent.children.add(c);
        return c;
    }

    /** A unit vector whose cosine with (1, 0, 0) is {@code cos}. */
    private static float[] unit(double cos) {
        return new float[]{(float) cos, (float) Math.sqrt(1 - cos * cos), 0};
    }

    private static int[] concat(int[] a, int b) {
        int[] out = Arrays.copyOf(a, a.length + 1);
        out[a.length] = b;
        return out;
    }
}
