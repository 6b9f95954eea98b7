package dev.rewind.tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The array-heap merge loops against their PriorityQueue twin ({@link PriorityQueueMergers}) on random
 * vocabularies and random strings, and their work on pathological pre-tokens (a megabyte of one
 * character, of digits, of CJK): a bounded number of queue operations per character, so the time is
 * O(n log n) whatever the text.
 */
class MergeLoopTest {

    /** Byte characters of a few ASCII letters and digits and the three bytes of 一 and 我 in GPT-2's byte alphabet. */
    private static final String BPE_ALPHABET = "ab1" + ByteUnicode.encodeUtf8("\u4e00\u6211");

    /** A random byte-level BPE vocabulary: merges of random earlier tokens, some listed twice, some reaching one piece by two splits. */
    private static List<String> randomMerges(Random random, int count) {
        List<String> tokens = new ArrayList<>();
        for (char c : BPE_ALPHABET.toCharArray()) {
            if (!tokens.contains(String.valueOf(c))) {
                tokens.add(String.valueOf(c));
            }
        }
        List<String> merges = new ArrayList<>();
        while (merges.size() < count) {
            if (!merges.isEmpty() && random.nextInt(20) == 0) {
                merges.add(merges.get(random.nextInt(merges.size()))); // a repeat keeps its first rank
                continue;
            }
            String left = tokens.get(random.nextInt(tokens.size()));
            String right = tokens.get(random.nextInt(tokens.size()));
            if ((left + right).length() > 12) {
                continue;
            }
            merges.add(left + " " + right);
            if (!tokens.contains(left + right)) {
                tokens.add(left + right);
            }
        }
        return merges;
    }

    private static MapMetadata bytePair(List<String> merges) {
        Set<String> tokens = new LinkedHashSet<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(String.valueOf(ByteUnicode.encode(b)));
        }
        for (String m : merges) {
            tokens.add(m.replace(" ", ""));
        }
        int[] types = new int[tokens.size()];
        Arrays.fill(types, 1);
        return new MapMetadata().put("tokenizer.ggml.model", "gpt2").put("tokenizer.ggml.pre", "gpt-2")
                .put("tokenizer.ggml.tokens", List.copyOf(tokens)).put("tokenizer.ggml.token_type", types)
                .put("tokenizer.ggml.merges", List.copyOf(merges));
    }

    private static String randomWord(Random random, String alphabet, int maxLength) {
        int length = random.nextInt(maxLength + 1);
        StringBuilder b = new StringBuilder();
        // runs of one character are where merge order matters most
        while (b.length() < length) {
            char c = alphabet.charAt(random.nextInt(alphabet.length()));
            b.append(String.valueOf(c).repeat(1 + (random.nextInt(4) == 0 ? random.nextInt(9) : 0)));
        }
        return b.toString();
    }

    private static int[] ours(RankMerger merger, String word) {
        IntList out = new IntList(8);
        merger.tokenize(word, out);
        return out.toArray();
    }

    @Test
    void rankMergingAgreesWithTheTwinOnRandomVocabulariesAndWords() {
        Random random = new Random(20261201);
        for (int v = 0; v < 40; v++) {
            List<String> merges = randomMerges(random, 30 + random.nextInt(300));
            Vocabulary vocabulary = Tokenizer.fromMetadata(bytePair(merges)).vocabulary();
            MergeRanks ranks = new MergeRanks(merges);
            for (boolean ignoreMerges : new boolean[]{false, true}) {
                RankMerger merger = new RankMerger(vocabulary, ranks, ignoreMerges);
                for (int w = 0; w < 250; w++) {
                    String word = randomWord(random, BPE_ALPHABET, 60);
                    IntList twin = new IntList(8);
                    PriorityQueueMergers.rank(vocabulary, ranks, ignoreMerges, word, twin);
                    assertArrayEquals(twin.toArray(), ours(merger, word), () -> "vocabulary " + merges + ", word " + word);
                }
            }
        }
    }

    /** A random SentencePiece vocabulary over a few characters (one outside the BMP), scores from a small set so that ties are common. */
    @Test
    void scoreMergingAgreesWithTheTwinOnRandomVocabulariesAndWords() {
        Random random = new Random(1201);
        List<String> alphabet = List.of("a", "b", "\u2581", "\u4e00", "\ud834\udd1e");
        float[] scoreSet = {0f, -0f, -1f, -1.5f, -2f, 3f, -1e-30f, Float.NEGATIVE_INFINITY, -1e9f};
        for (int v = 0; v < 40; v++) {
            List<String> pieces = new ArrayList<>(alphabet.subList(0, 2 + random.nextInt(alphabet.size() - 1)));
            int target = 20 + random.nextInt(300);
            for (int guard = 0; pieces.size() < target && guard < 10 * target; guard++) {
                String p = pieces.get(random.nextInt(pieces.size())) + pieces.get(random.nextInt(pieces.size()));
                if (p.length() <= 14 && !pieces.contains(p)) {
                    pieces.add(p);
                }
            }
            float[] scores = new float[pieces.size()];
            for (int i = 0; i < scores.length; i++) {
                scores[i] = random.nextBoolean() ? scoreSet[random.nextInt(scoreSet.length)] : -random.nextInt(50) / 4f;
            }
            Vocabulary vocabulary = Tokenizer.fromMetadata(MapMetadata.sentencePiece(pieces, scores)).vocabulary();
            ScoreMerger merger = new ScoreMerger(vocabulary);
            String chars = String.join("", alphabet) + "z"; // z is no piece: byte fallback
            for (int w = 0; w < 250; w++) {
                StringBuilder word = new StringBuilder();
                int length = random.nextInt(50);
                while (word.length() < length) {
                    int at = random.nextInt(chars.length());
                    int cp = chars.codePointAt(Character.isLowSurrogate(chars.charAt(at)) ? at - 1 : at);
                    word.append(Character.toString(cp).repeat(1 + (random.nextInt(4) == 0 ? random.nextInt(9) : 0)));
                }
                IntList twin = new IntList(8);
                PriorityQueueMergers.score(vocabulary, word.toString(), twin);
                IntList out = new IntList(8);
                merger.tokenize(word.toString(), out);
                assertArrayEquals(twin.toArray(), out.toArray(), () -> "pieces " + pieces + ", word " + word);
            }
        }
    }

    @Test
    void scorePriorityOrdersLikeTheFloatsWithZeroesEqual() {
        float[] ordered = {Float.NEGATIVE_INFINITY, -1e30f, -2f, -Float.MIN_VALUE, 0f, Float.MIN_VALUE, 1f, 3e38f, Float.POSITIVE_INFINITY};
        for (int i = 0; i + 1 < ordered.length; i++) {
            assertTrue(ScoreMerger.priority(ordered[i]) > ScoreMerger.priority(ordered[i + 1]), "higher score first at " + ordered[i]);
        }
        assertEquals(ScoreMerger.priority(0f), ScoreMerger.priority(-0f));
    }

    /** Merge chains that double a run: x x, xx xx, xxxx xxxx, ... and a few odd lengths, for each of {@code units}. */
    private static List<String> doublingMerges(List<String> units) {
        List<String> merges = new ArrayList<>();
        for (String unit : units) {
            String t = unit;
            for (int k = 0; k < 9; k++) {
                merges.add(t + " " + t);
                merges.add(t + t + " " + unit);
                t = t + t;
            }
        }
        return merges;
    }

    private static final int MEGABYTE = 1 << 20;

    /**
     * A megabyte of one character, of one digit, of CJK (three byte characters each), and of random digits:
     * the loop examines at most three queued candidates per character (each character queues one, each merge
     * two more), and the tokens are the twin's.
     */
    @Test
    void aMegabytePreTokenIsMergedWithABoundedNumberOfQueueOperations() {
        String cjk = ByteUnicode.encodeUtf8("\u4e00");
        List<String> units = List.of("a", "1", cjk.substring(0, 1), cjk.substring(1, 2), cjk.substring(2, 3));
        List<String> merges = new ArrayList<>(doublingMerges(units));
        merges.add(cjk.charAt(0) + " " + cjk.charAt(1));
        merges.add(cjk.substring(0, 2) + " " + cjk.charAt(2));
        merges.add(cjk + " " + cjk);
        Random random = new Random(7);
        for (int i = 0; i < 100; i++) {
            merges.add((char) ('0' + random.nextInt(10)) + " " + (char) ('0' + random.nextInt(10)));
        }
        Vocabulary vocabulary = Tokenizer.fromMetadata(bytePair(merges)).vocabulary();
        MergeRanks ranks = new MergeRanks(merges);
        RankMerger merger = new RankMerger(vocabulary, ranks, false);
        StringBuilder digits = new StringBuilder();
        for (int i = 0; i < MEGABYTE; i++) {
            digits.append((char) ('0' + random.nextInt(10)));
        }
        for (String word : List.of("a".repeat(MEGABYTE), "1".repeat(MEGABYTE), cjk.repeat(MEGABYTE / 3), digits.toString())) {
            IntList out = new IntList(word.length() / 4);
            long start = System.nanoTime();
            int examined = merger.tokenize(word, out);
            double seconds = (System.nanoTime() - start) / 1e9;
            assertTrue(examined <= 3 * word.length(), examined + " candidates for " + word.length() + " characters");
            assertTrue(out.size() < word.length(), "merged");
            IntList twin = new IntList(word.length() / 4);
            PriorityQueueMergers.rank(vocabulary, ranks, false, word, twin);
            assertArrayEquals(twin.toArray(), out.toArray());
            System.out.printf("rank merge of %d characters (%s...): %d tokens, %d candidates, %.3f s%n", word.length(),
                    word.substring(0, 3), out.size(), examined, seconds);
        }
    }

    @Test
    void aMegabyteOfOneCharacterOrCjkIsMergedByScoreWithABoundedNumberOfQueueOperations() {
        List<String> pieces = new ArrayList<>();
        float[] scores = new float[40];
        for (String unit : List.of("\u2581", "a", "\u4e00", "\ud834\udd1e")) {
            String t = unit;
            for (int k = 0; k < 10; k++) {
                pieces.add(t);
                scores[pieces.size() - 1] = -k;
                t = t + t;
            }
        }
        Vocabulary vocabulary = Tokenizer.fromMetadata(MapMetadata.sentencePiece(pieces, scores)).vocabulary();
        ScoreMerger merger = new ScoreMerger(vocabulary);
        for (String word : List.of("a".repeat(MEGABYTE), "\u4e00".repeat(MEGABYTE), "\ud834\udd1e".repeat(MEGABYTE / 2),
                "\u2581a".repeat(MEGABYTE / 2))) {
            IntList out = new IntList(word.length() / 4);
            long start = System.nanoTime();
            int examined = merger.tokenize(word, out);
            double seconds = (System.nanoTime() - start) / 1e9;
            int characters = word.codePointCount(0, word.length());
            assertTrue(examined <= 3 * characters, examined + " candidates for " + characters + " characters");
            IntList twin = new IntList(word.length() / 4);
            PriorityQueueMergers.score(vocabulary, word, twin);
            assertArrayEquals(twin.toArray(), out.toArray());
            System.out.printf("score merge of %d characters: %d tokens, %d candidates, %.3f s%n", characters, out.size(), examined, seconds);
        }
    }
}
