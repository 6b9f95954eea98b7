package dev.rewind.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code pre_tokenizer} of a {@code tokenizer.json}: cuts each normalized piece of text into the words the
 * model then tokenizes one by one. The kinds and their behaviour are those of the Hugging Face tokenizers
 * library; regexes follow {@link HfRegex}.
 */
sealed interface HfPreTokenizer {

    /**
     * A piece of text.
     *
     * @param text     the text
     * @param atOrigin whether it starts where the original input starts (Metaspace's {@code first} scheme
     *                 prepends only there)
     */
    record Piece(String text, boolean atOrigin) {
    }

    /** The pieces {@code pieces} are cut into, in order; empty pieces are dropped. */
    List<Piece> split(List<Piece> pieces);

    /** What a Split does with the matches of its pattern. */
    enum Behavior {
        /** Matches are dropped. */
        REMOVED,
        /** Matches are pieces of their own. */
        ISOLATED,
        /** A match joins the piece before it. */
        MERGED_WITH_PREVIOUS,
        /** A match joins the piece after it. */
        MERGED_WITH_NEXT,
        /** Neighbouring matches join each other, and so do neighbouring non-matches. */
        CONTIGUOUS;

        static Behavior read(JsonCursor at) {
            return switch (at.string()) {
                case "Removed" -> REMOVED;
                case "Isolated" -> ISOLATED;
                case "MergedWithPrevious" -> MERGED_WITH_PREVIOUS;
                case "MergedWithNext" -> MERGED_WITH_NEXT;
                case "Contiguous" -> CONTIGUOUS;
                default -> throw at.error("unknown split behavior '" + at.string()
                        + "' (known: Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)");
            };
        }
    }

    /**
     * GPT-2's byte-level pre-tokenizer: optionally a space in front, the GPT-2 regex (when {@code useRegex}),
     * then every word's UTF-8 bytes written as GPT-2's byte characters.
     */
    record ByteLevel(boolean addPrefixSpace, boolean useRegex) implements HfPreTokenizer {

        private static final Pattern GPT2 = Pattern.compile(HfRegex.translate(
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"));

        @Override
        public List<Piece> split(List<Piece> pieces) {
            List<Piece> out = new ArrayList<>(pieces.size() * 4);
            for (Piece piece : pieces) {
                String text = addPrefixSpace && !piece.text().startsWith(" ") ? " " + piece.text() : piece.text();
                List<Piece> words = useRegex
                        ? cut(new Piece(text, piece.atOrigin()), regexMatches(GPT2, text), Behavior.ISOLATED, false)
                        : List.of(new Piece(text, piece.atOrigin()));
                for (Piece word : words) {
                    out.add(new Piece(ByteUnicode.encodeUtf8(word.text()), word.atOrigin()));
                }
            }
            return out;
        }
    }

    /** Cuts at the matches of a pattern; with {@code invert}, the matches are the words and the rest the delimiters. */
    record Split(HfPattern pattern, Behavior behavior, boolean invert) implements HfPreTokenizer {
        @Override
        public List<Piece> split(List<Piece> pieces) {
            List<Piece> out = new ArrayList<>(pieces.size() * 4);
            for (Piece piece : pieces) {
                List<int[]> matches = pattern.isEmptyLiteral()
                        ? List.of(new int[] {0, piece.text().length(), 0})
                        : regexMatches(pattern.pattern(), piece.text());
                out.addAll(cut(piece, matches, behavior, invert));
            }
            return out;
        }
    }

    /**
     * SentencePiece-style spaces: every space becomes {@code replacement}, which is also put in front of a piece
     * (always, only at the start of the input, or never); with {@code splitOnReplacement}, each replacement
     * character then starts a new word.
     */
    record Metaspace(String replacement, PrependScheme scheme, boolean splitOnReplacement) implements HfPreTokenizer {

        /** When the replacement character is put in front of a piece. */
        enum PrependScheme { ALWAYS, FIRST, NEVER }

        @Override
        public List<Piece> split(List<Piece> pieces) {
            List<Piece> out = new ArrayList<>(pieces.size() * 4);
            for (Piece piece : pieces) {
                String text = piece.text().replace(" ", replacement);
                boolean prepend = switch (scheme) {
                    case ALWAYS -> true;
                    case FIRST -> piece.atOrigin();
                    case NEVER -> false;
                };
                if (prepend && !text.startsWith(replacement)) {
                    text = replacement + text;
                }
                Piece replaced = new Piece(text, piece.atOrigin());
                if (splitOnReplacement) {
                    int r = replacement.codePointAt(0);
                    out.addAll(cut(replaced, charMatches(text, cp -> cp == r), Behavior.MERGED_WITH_NEXT, false));
                } else {
                    out.add(replaced);
                }
            }
            return out;
        }
    }

    /** Digits (Unicode Nd, Nl, No) cut out, one by one or in runs. */
    record Digits(boolean individual) implements HfPreTokenizer {
        @Override
        public List<Piece> split(List<Piece> pieces) {
            return cutAll(pieces, Digits::isNumeric, individual ? Behavior.ISOLATED : Behavior.CONTIGUOUS);
        }

        private static boolean isNumeric(int cp) {
            int type = Character.getType(cp);
            return type == Character.DECIMAL_DIGIT_NUMBER || type == Character.LETTER_NUMBER
                    || type == Character.OTHER_NUMBER;
        }
    }

    /** Punctuation (ASCII punctuation and symbols, and Unicode P*) cut out. */
    record Punctuation(Behavior behavior) implements HfPreTokenizer {
        @Override
        public List<Piece> split(List<Piece> pieces) {
            return cutAll(pieces, Punctuation::isPunctuation, behavior);
        }

        private static boolean isPunctuation(int cp) {
            return cp < 0x80 ? (cp > 0x20 && cp < 0x7F && !Character.isLetterOrDigit(cp))
                    : CodePointClass.isPunctuation(cp);
        }
    }

    /** Words ({@code \w+}) and runs of other non-space characters; whitespace is dropped. */
    record Whitespace() implements HfPreTokenizer {

        private static final Pattern WORDS = Pattern.compile("\\w+|[^\\w\\s]+", Pattern.UNICODE_CHARACTER_CLASS);

        @Override
        public List<Piece> split(List<Piece> pieces) {
            List<Piece> out = new ArrayList<>();
            for (Piece piece : pieces) {
                out.addAll(cut(piece, regexMatches(WORDS, piece.text()), Behavior.REMOVED, true));
            }
            return out;
        }
    }

    /** Cut at whitespace (Unicode White_Space), which is dropped. */
    record WhitespaceSplit() implements HfPreTokenizer {
        @Override
        public List<Piece> split(List<Piece> pieces) {
            return cutAll(pieces, HfNormalizer::isWhiteSpace, Behavior.REMOVED);
        }
    }

    /** Several pre-tokenizers, one after the other. */
    record Sequence(List<HfPreTokenizer> steps) implements HfPreTokenizer {
        @Override
        public List<Piece> split(List<Piece> pieces) {
            List<Piece> out = pieces;
            for (HfPreTokenizer step : steps) {
                out = step.split(out);
            }
            return out;
        }
    }

    /**
     * The pre-tokenizer described at {@code at}.
     *
     * @throws TokenizerException naming the path for an unknown or malformed pre-tokenizer
     */
    static HfPreTokenizer read(JsonCursor at) {
        String type = at.get("type").string();
        return switch (type) {
            case "ByteLevel" -> new ByteLevel(at.bool("add_prefix_space", true), at.bool("use_regex", true));
            case "Split" -> new Split(HfPattern.read(at.get("pattern")), Behavior.read(at.get("behavior")),
                    at.bool("invert", false));
            case "Metaspace" -> metaspace(at);
            case "Digits" -> new Digits(at.bool("individual_digits", false));
            case "Punctuation" -> new Punctuation(at.find("behavior").map(Behavior::read).orElse(Behavior.ISOLATED));
            case "Whitespace" -> new Whitespace();
            case "WhitespaceSplit" -> new WhitespaceSplit();
            case "Sequence" -> new Sequence(at.get("pretokenizers").elements().stream().map(HfPreTokenizer::read).toList());
            default -> throw at.get("type").error("unsupported pre-tokenizer '" + type + "' (supported: ByteLevel, Split,"
                    + " Metaspace, Digits, Punctuation, Whitespace, WhitespaceSplit, Sequence)");
        };
    }

    /** Metaspace, with the older {@code add_prefix_space} flag read as the library does. */
    static Metaspace metaspace(JsonCursor at) {
        JsonCursor replacementAt = at.get("replacement");
        String replacement = replacementAt.string();
        if (replacement.codePointCount(0, replacement.length()) != 1) {
            throw replacementAt.error("expected one character, found '" + replacement + "'");
        }
        Metaspace.PrependScheme scheme = Metaspace.PrependScheme.ALWAYS;
        if (at.find("prepend_scheme").isPresent()) {
            JsonCursor s = at.get("prepend_scheme");
            scheme = switch (s.string()) {
                case "always" -> Metaspace.PrependScheme.ALWAYS;
                case "first" -> Metaspace.PrependScheme.FIRST;
                case "never" -> Metaspace.PrependScheme.NEVER;
                default -> throw s.error("unknown prepend_scheme '" + s.string() + "' (known: always, first, never)");
            };
        }
        if (!at.bool("add_prefix_space", true)) {
            scheme = Metaspace.PrependScheme.NEVER;
        }
        return new Metaspace(replacement, scheme, at.bool("split", true));
    }

    /**
     * The matches of {@code pattern} in {@code text} and the stretches between them, in order, covering the
     * text: {@code {start, end, 1}} for a match, {@code {start, end, 0}} for the rest.
     */
    static List<int[]> regexMatches(Pattern pattern, String text) {
        List<int[]> out = new ArrayList<>();
        if (text.isEmpty()) {
            return out;
        }
        Matcher m = pattern.matcher(text);
        int previous = 0;
        while (m.find()) {
            if (m.start() > previous) {
                out.add(new int[] {previous, m.start(), 0});
            }
            out.add(new int[] {m.start(), m.end(), 1});
            previous = m.end();
        }
        if (previous < text.length()) {
            out.add(new int[] {previous, text.length(), 0});
        }
        return out;
    }

    /** Each character that {@code isMatch} accepts as a match of its own, and the stretches between them. */
    static List<int[]> charMatches(String text, IntPredicate isMatch) {
        List<int[]> out = new ArrayList<>();
        int previous = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int next = i + Character.charCount(cp);
            if (isMatch.test(cp)) {
                if (i > previous) {
                    out.add(new int[] {previous, i, 0});
                }
                out.add(new int[] {i, next, 1});
                previous = next;
            }
            i = next;
        }
        if (previous < text.length()) {
            out.add(new int[] {previous, text.length(), 0});
        }
        return out;
    }

    private static List<Piece> cutAll(List<Piece> pieces, IntPredicate isMatch, Behavior behavior) {
        List<Piece> out = new ArrayList<>(pieces.size() * 2);
        for (Piece piece : pieces) {
            out.addAll(cut(piece, charMatches(piece.text(), isMatch), behavior, false));
        }
        return out;
    }

    /** The pieces {@code behavior} makes of {@code piece} given its {@code matches}, as the library's split. */
    static List<Piece> cut(Piece piece, List<int[]> matches, Behavior behavior, boolean invert) {
        List<int[]> spans = behavior == Behavior.MERGED_WITH_NEXT
                ? mergedWithNext(matches, invert) : spans(matches, behavior, invert);
        List<Piece> out = new ArrayList<>(spans.size());
        for (int[] span : spans) {
            if (span[2] == 1 && span[1] > span[0]) {
                out.add(new Piece(piece.text().substring(span[0], span[1]), piece.atOrigin() && span[0] == 0));
            }
        }
        return out;
    }

    /** The spans {@code {start, end, keep}} of every behavior but MergedWithNext. */
    private static List<int[]> spans(List<int[]> matches, Behavior behavior, boolean invert) {
        List<int[]> spans = new ArrayList<>(matches.size());
        boolean previousMatch = false;
        for (int[] m : matches) {
            boolean isMatch = (m[2] == 1) != invert;
            boolean joinsPrevious = !spans.isEmpty() && switch (behavior) {
                case CONTIGUOUS -> isMatch == previousMatch;
                case MERGED_WITH_PREVIOUS -> isMatch && !previousMatch;
                default -> false;
            };
            if (joinsPrevious) {
                spans.getLast()[1] = m[1];
            } else {
                spans.add(new int[] {m[0], m[1], behavior == Behavior.REMOVED && isMatch ? 0 : 1});
            }
            previousMatch = isMatch;
        }
        return spans;
    }

    /** MergedWithNext: scanning from the end, a match joins the span after it unless that one is a match too. */
    private static List<int[]> mergedWithNext(List<int[]> matches, boolean invert) {
        List<int[]> reversed = new ArrayList<>(matches.size());
        boolean previousMatch = false;
        for (int i = matches.size() - 1; i >= 0; i--) {
            int[] m = matches.get(i);
            boolean isMatch = (m[2] == 1) != invert;
            if (isMatch && !previousMatch && !reversed.isEmpty()) {
                reversed.getLast()[0] = m[0];
            } else {
                reversed.add(new int[] {m[0], m[1], 1});
            }
            previousMatch = isMatch;
        }
        return reversed.reversed();
    }
}
