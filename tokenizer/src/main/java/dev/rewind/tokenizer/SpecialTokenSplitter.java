package dev.rewind.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits input text on the texts of special tokens before tokenization, as llama.cpp's
 * {@code tokenizer_st_partition}: special tokens are tried one after the other, longest text first;
 * each one splits every remaining text fragment at each of its occurrences.
 *
 * <p>USER_DEFINED tokens are always split out. CONTROL and UNKNOWN tokens only when special parsing
 * is on; otherwise their text stays plain text.
 */
final class SpecialTokenSplitter {

    private final Vocabulary vocabulary;

    SpecialTokenSplitter(Vocabulary vocabulary) {
        this.vocabulary = vocabulary;
    }

    /** The fragments of {@code text}, in order; an empty text has no fragments. */
    List<Fragment> split(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) {
            return fragments;
        }
        fragments.add(new Fragment.Text(0, text.length()));
        for (int id : vocabulary.specialCandidates()) {
            int attributes = vocabulary.attributes(id);
            if (!parseSpecial && TokenAttributes.has(attributes, TokenAttributes.CONTROL | TokenAttributes.UNKNOWN)) {
                continue;
            }
            fragments = splitOn(text, fragments, id, vocabulary.piece(id), attributes);
        }
        return fragments;
    }

    private static List<Fragment> splitOn(String text, List<Fragment> fragments, int id, String piece, int attributes) {
        List<Fragment> out = new ArrayList<>(fragments.size() + 2);
        boolean lstrip = TokenAttributes.has(attributes, TokenAttributes.LSTRIP);
        boolean rstrip = TokenAttributes.has(attributes, TokenAttributes.RSTRIP);
        for (Fragment fragment : fragments) {
            if (!(fragment instanceof Fragment.Text(int start, int end))) {
                out.add(fragment);
                continue;
            }
            int from = start;
            while (from < end) {
                int match = text.indexOf(piece, from, end);
                if (match < 0) {
                    break;
                }
                int leftEnd = match;
                while (lstrip && leftEnd > from && isCSpace(text.charAt(leftEnd - 1))) {
                    leftEnd--;
                }
                if (leftEnd > from) {
                    out.add(new Fragment.Text(from, leftEnd));
                }
                out.add(new Fragment.Special(id));
                from = match + piece.length();
                while (rstrip && from < end && isCSpace(text.charAt(from))) {
                    from++;
                }
            }
            if (from < end) {
                out.add(new Fragment.Text(from, end));
            }
        }
        return out;
    }

    /** C's {@code isspace} in the "C" locale, which llama.cpp uses for stripping around special tokens. */
    private static boolean isCSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }
}
