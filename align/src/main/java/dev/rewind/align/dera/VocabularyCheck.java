package dev.rewind.align.dera;

import dev.rewind.tokenizer.TokenType;
import dev.rewind.tokenizer.Tokenizer;

import java.util.List;
import java.util.OptionalInt;
import java.util.regex.Pattern;

/**
 * Decides whether models can be mixed token by token: their vocabularies must be the same, id for
 * id (piece and type), with the same BOS and EOS. One exception is accepted: a vocabulary that only
 * adds padding at the end (ids past the other's last token), as checkpoints padded to a multiple of
 * 8 or given an extra {@code <pad>} do. Those ids are masked in the mixture.
 *
 * <p>A token counts as padding when its type is UNUSED, when it is the vocabulary's padding token,
 * or when its piece is a padding placeholder ({@code <pad>}, {@code <pad_12>}, {@code [PAD12]},
 * {@code <|pad|>}, {@code <unused3>}). Rows of a padded output matrix with no token at all count as
 * padding too.
 */
public final class VocabularyCheck {

    private static final Pattern PADDING_PIECE = Pattern.compile("(?i)\\[PAD\\d*]|<\\|?(pad|unused)[_\\d]*\\|?>");

    private VocabularyCheck() {
    }

    /**
     * Checks every side against the first.
     *
     * @throws VocabularyMismatchException naming the first token that differs
     * @throws IllegalArgumentException    if fewer than one side is given
     */
    public static SharedVocabulary check(List<VocabularySide> sides) {
        if (sides.isEmpty()) {
            throw new IllegalArgumentException("no vocabulary to check");
        }
        VocabularySide first = sides.getFirst();
        int tokens = first.tokenizer().vocabularySize();
        int width = first.logitsWidth();
        for (VocabularySide other : sides.subList(1, sides.size())) {
            SharedVocabulary pair = check(first, other);
            tokens = Math.min(tokens, pair.tokens());
            width = Math.max(width, pair.logitsWidth());
        }
        return new SharedVocabulary(tokens, width);
    }

    /**
     * Checks two models' vocabularies.
     *
     * @return the ids they share and the width of the wider one's logits
     * @throws VocabularyMismatchException naming the first token that differs
     */
    public static SharedVocabulary check(VocabularySide a, VocabularySide b) {
        Tokenizer ta = a.tokenizer();
        Tokenizer tb = b.tokenizer();
        int common = Math.min(ta.vocabularySize(), tb.vocabularySize());
        for (int id = 0; id < common; id++) {
            if (!ta.piece(id).equals(tb.piece(id)) || ta.tokenType(id) != tb.tokenType(id)) {
                throw new VocabularyMismatchException(id, "the vocabularies of " + a.name() + " and " + b.name()
                        + " differ at token " + id + ": " + describe(ta, id) + " in " + a.name() + ", "
                        + describe(tb, id) + " in " + b.name() + "; the models must share one tokenizer");
            }
        }
        checkExtension(a, b, common);
        checkExtension(b, a, common);
        checkSpecial("BOS", ta.bos(), tb.bos(), a, b);
        checkSpecial("EOS", ta.eos(), tb.eos(), a, b);
        return new SharedVocabulary(common, Math.max(a.logitsWidth(), b.logitsWidth()));
    }

    /** Whether token {@code id} of {@code tokenizer} is padding (see the class comment). */
    public static boolean isPadding(Tokenizer tokenizer, int id) {
        if (tokenizer.tokenType(id) == TokenType.UNUSED) {
            return true;
        }
        OptionalInt pad = tokenizer.padding();
        return pad.isPresent() && pad.getAsInt() == id || PADDING_PIECE.matcher(tokenizer.piece(id)).matches();
    }

    /** Tokens of {@code longer} past the shared ids must all be padding. */
    private static void checkExtension(VocabularySide longer, VocabularySide shorter, int common) {
        Tokenizer t = longer.tokenizer();
        for (int id = common; id < t.vocabularySize(); id++) {
            if (!isPadding(t, id)) {
                throw new VocabularyMismatchException(id, "token " + id + " " + describe(t, id) + " of " + longer.name()
                        + " is not in " + shorter.name() + " (" + shorter.tokenizer().vocabularySize()
                        + " tokens), and only padding may extend a shared vocabulary; the models must share one tokenizer");
            }
        }
    }

    private static void checkSpecial(String what, OptionalInt a, OptionalInt b, VocabularySide sa, VocabularySide sb) {
        if (!a.equals(b)) {
            throw new VocabularyMismatchException(-1, what + " is " + show(a) + " in " + sa.name() + " but "
                    + show(b) + " in " + sb.name() + "; the models must share one tokenizer");
        }
    }

    private static String show(OptionalInt id) {
        return id.isPresent() ? "token " + id.getAsInt() : "absent";
    }

    /** A token for a message: its piece quoted with control characters escaped, and its type. */
    static String describe(Tokenizer t, int id) {
        StringBuilder sb = new StringBuilder("'");
        t.piece(id).codePoints().forEach(cp -> {
            if (cp < 0x20 || cp == 0x7f) {
                sb.append(String.format("\\x%02x", cp));
            } else if (cp == '\'' || cp == '\\') {
                sb.append('\\').appendCodePoint(cp);
            } else {
                sb.appendCodePoint(cp);
            }
        });
        return sb.append("' (").append(t.tokenType(id)).append(')').toString();
    }
}
