package dev.rewind.tokenizer;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The {@code added_tokens} of a {@code tokenizer.json} and how they are found in a text, as the Hugging Face
 * tokenizers library does: tokens with {@code normalized: false} are matched in the raw text first; the text
 * between them is normalized and then searched for the tokens with {@code normalized: true} (by their
 * normalized form). At each position the longest token that starts there wins, scanning left to right.
 * {@code lstrip}/{@code rstrip} take the whitespace on that side into the token, and a {@code single_word}
 * token only counts when no word character touches it.
 */
final class HfAddedTokens {

    /**
     * One added token.
     *
     * @param id         its id
     * @param content    its text
     * @param special    special tokens are not found when special parsing is off, and are skipped when decoding
     *                   with {@code skipSpecialTokens}
     * @param normalized matched against the normalized text rather than the raw text
     * @param lstrip     whitespace before it belongs to it
     * @param rstrip     whitespace after it belongs to it
     * @param singleWord only matched as a whole word
     */
    record AddedToken(int id, String content, boolean special, boolean normalized, boolean lstrip, boolean rstrip,
                      boolean singleWord) {
    }

    /** A piece of the input once added tokens are found: text still to tokenize, or one added token. */
    sealed interface Segment {

        /**
         * Text to normalize and tokenize.
         *
         * @param text     the text
         * @param atOrigin whether it starts at the start of the input
         */
        record Text(String text, boolean atOrigin) implements Segment {
        }

        /** An added token found in the input. */
        record Token(int id) implements Segment {
        }
    }

    private static final Pattern WORD_CHARACTER = Pattern.compile("\\w", Pattern.UNICODE_CHARACTER_CLASS);

    private final List<AddedToken> tokens;
    private final Trie raw;
    private final Trie normalized;

    /**
     * @param normalizer the tokenizer's normalizer, which gives the form in which {@code normalized} tokens are
     *                   searched; null for none
     */
    HfAddedTokens(List<AddedToken> tokens, HfNormalizer normalizer) {
        this.tokens = List.copyOf(tokens);
        this.raw = new Trie();
        this.normalized = new Trie();
        for (AddedToken t : tokens) {
            if (t.normalized()) {
                normalized.add(normalizer == null ? t.content() : normalizer.normalize(t.content()), t);
            } else {
                raw.add(t.content(), t);
            }
        }
    }

    List<AddedToken> tokens() {
        return tokens;
    }

    /** The raw text cut at the tokens with {@code normalized: false}. */
    List<Segment> splitRaw(String text, boolean parseSpecial) {
        List<Segment> out = new ArrayList<>();
        split(text, true, raw, parseSpecial, out);
        return out;
    }

    /** A normalized piece cut at the tokens with {@code normalized: true}. */
    void splitNormalized(String text, boolean atOrigin, boolean parseSpecial, List<Segment> out) {
        split(text, atOrigin, normalized, parseSpecial, out);
    }

    private static void split(String text, boolean atOrigin, Trie trie, boolean parseSpecial, List<Segment> out) {
        int kept = 0; // the text before this position is already in out
        int i = 0;
        while (i < text.length()) {
            Trie.Match match = trie.longestAt(text, i);
            if (match == null) {
                i++;
                continue;
            }
            AddedToken token = match.token();
            int start = i;
            int end = match.end();
            if ((!parseSpecial && token.special()) || (token.singleWord() && !isWholeWord(text, start, end))) {
                i = end; // the text stays text, and no other token is looked for inside it
                continue;
            }
            if (token.lstrip()) {
                while (start > kept && HfNormalizer.isWhiteSpace(text.codePointBefore(start))) {
                    start -= Character.charCount(text.codePointBefore(start));
                }
            }
            if (token.rstrip()) {
                while (end < text.length() && HfNormalizer.isWhiteSpace(text.codePointAt(end))) {
                    end += Character.charCount(text.codePointAt(end));
                }
            }
            if (start > kept) {
                out.add(new Segment.Text(text.substring(kept, start), atOrigin && kept == 0));
            }
            out.add(new Segment.Token(token.id()));
            kept = end;
            i = end;
        }
        if (kept < text.length()) {
            out.add(new Segment.Text(text.substring(kept), atOrigin && kept == 0));
        }
    }

    private static boolean isWholeWord(String text, int start, int end) {
        boolean wordBefore = start > 0 && isWordCharacter(text.codePointBefore(start));
        boolean wordAfter = end < text.length() && isWordCharacter(text.codePointAt(end));
        return !wordBefore && !wordAfter;
    }

    private static boolean isWordCharacter(int cp) {
        return WORD_CHARACTER.matcher(Character.toString(cp)).matches();
    }

    /** The tokens' texts by character, to find the longest one starting at a position. */
    private static final class Trie {

        record Match(AddedToken token, int end) {
        }

        private static final class Node {
            final Map<Character, Node> children = new HashMap<>(4);
            AddedToken token;
        }

        private final Node root = new Node();
        private final BitSet firstChars = new BitSet(1 << 16);

        void add(String text, AddedToken token) {
            if (text.isEmpty()) {
                return;
            }
            Node node = root;
            for (int i = 0; i < text.length(); i++) {
                node = node.children.computeIfAbsent(text.charAt(i), c -> new Node());
            }
            node.token = token; // a later token with the same text wins, as in the library's map
            firstChars.set(text.charAt(0));
        }

        /** The longest token starting at {@code from}, or null. */
        Match longestAt(String text, int from) {
            if (!firstChars.get(text.charAt(from))) {
                return null;
            }
            Match best = null;
            Node node = root;
            for (int i = from; i < text.length(); i++) {
                node = node.children.get(text.charAt(i));
                if (node == null) {
                    break;
                }
                if (node.token != null) {
                    best = new Match(node.token, i + 1);
                }
            }
            return best;
        }
    }
}
