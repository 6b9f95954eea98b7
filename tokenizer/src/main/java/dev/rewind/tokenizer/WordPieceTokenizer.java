package dev.rewind.tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * BERT's WordPiece tokenizer, for sentence encoders, from either source:
 * <ul>
 *   <li>a {@code tokenizer.json} with a {@code WordPiece} model, a {@code BertNormalizer}, a
 *       {@code BertPreTokenizer} and a {@code TemplateProcessing} or {@code BertProcessing} post-processor,
 *       encoded as the Hugging Face tokenizers library does: added tokens found in the raw text first; the
 *       normalizer removes NUL, U+FFFD and "other" characters (Cc, Cf, Co, Cs, Cn other than tab, newline and
 *       carriage return), turns whitespace into spaces, puts spaces around CJK ideographs, strips accents
 *       (NFD, then non-spacing marks removed; by default whenever it lowercases) and lowercases; the
 *       pre-tokenizer cuts at whitespace and isolates every punctuation character (ASCII punctuation and
 *       Unicode P*); each word is matched greedily, longest piece first, later pieces with the
 *       {@code ##} prefix, and a word with an unmatched rest or more than {@code max_input_chars_per_word}
 *       characters becomes the unknown token;</li>
 *   <li>the GGUF vocabulary type {@code bert} ({@code tokenizer.ggml.model = bert}), encoded as llama.cpp
 *       does: each character becomes the first character of its NFD form, NUL, U+FFFD and C* characters
 *       dropped, each character lowercased on its own, punctuation, ASCII symbols and CJK ideographs made
 *       words of their own, and each word matched greedily against the vocabulary with {@code ▁} in front of
 *       its first piece (llama.cpp's converter stores word-initial pieces as {@code ▁piece} and {@code ##piece}
 *       as {@code piece}); there is no word-length limit and special-token text is not parsed.</li>
 * </ul>
 * {@link #encode(String, boolean, int)} adds {@code [CLS]} and {@code [SEP]} and truncates the words, as
 * sentence-transformers does. Immutable and thread-safe.
 */
public final class WordPieceTokenizer {

    /** Which of the two behaviours above this tokenizer has. */
    public enum Style { HUGGING_FACE, LLAMA_CPP }

    private static final int MAX_TOKENS = 1 << 22;

    private final Style style;
    private final Map<String, Integer> vocab;
    private final String[] pieces;
    private final int unknown;
    private final int[] prefix;
    private final int[] suffix;
    private final int maxWordChars;
    private final int maxPieceChars;
    private final boolean cleanText;
    private final boolean chineseChars;
    private final boolean stripAccents;
    private final boolean lowercase;
    private final String continuation;
    private final HfAddedTokens added;

    private WordPieceTokenizer(Style style, String[] pieces, int unknown, int[] prefix, int[] suffix, int maxWordChars,
                               boolean cleanText, boolean chineseChars, boolean stripAccents, boolean lowercase,
                               String continuation, List<HfAddedTokens.AddedToken> addedTokens) {
        this.style = style;
        this.pieces = pieces;
        this.vocab = new HashMap<>(pieces.length * 2);
        int longest = 1;
        for (int id = 0; id < pieces.length; id++) {
            if (pieces[id] != null) {
                vocab.putIfAbsent(pieces[id], id);
                longest = Math.max(longest, pieces[id].codePointCount(0, pieces[id].length()));
            }
        }
        this.maxPieceChars = longest;
        this.unknown = unknown;
        this.prefix = prefix;
        this.suffix = suffix;
        this.maxWordChars = maxWordChars;
        this.cleanText = cleanText;
        this.chineseChars = chineseChars;
        this.stripAccents = stripAccents;
        this.lowercase = lowercase;
        this.continuation = continuation;
        List<HfAddedTokens.AddedToken> forms = new ArrayList<>();
        for (HfAddedTokens.AddedToken t : addedTokens) {
            forms.add(t.normalized() ? new HfAddedTokens.AddedToken(t.id(), normalize(t.content()), t.special(), true,
                    t.lstrip(), t.rstrip(), t.singleWord()) : t);
        }
        this.added = new HfAddedTokens(forms, null);
    }

    /**
     * The tokenizer of a {@code tokenizer.json} file.
     *
     * @throws TokenizerException naming the file and JSON path when the file is not a BERT WordPiece tokenizer
     * @throws IOException        when it cannot be read
     */
    public static WordPieceTokenizer fromTokenizerJson(Path file) throws IOException {
        return fromJson(HuggingFaceLoader.readJson(file));
    }

    /**
     * The tokenizer of a {@code tokenizer.json} given as text.
     *
     * @param name what to call it in messages (e.g. the resource it came from)
     * @throws TokenizerException naming {@code name} and the JSON path when it is not a BERT WordPiece tokenizer
     */
    public static WordPieceTokenizer fromTokenizerJson(String json, String name) {
        return fromJson(JsonCursor.root(JsonReader.parse(json, name), name));
    }

    private static WordPieceTokenizer fromJson(JsonCursor root) {
        JsonCursor model = root.get("model");
        String type = model.optString("type").orElse("");
        if (!type.equals("WordPiece")) {
            throw (model.find("type").isPresent() ? model.get("type") : model)
                    .error("expected a WordPiece model, found '" + type + "'");
        }
        JsonCursor vocabAt = model.get("vocab");
        Map<Integer, String> byId = new HashMap<>();
        int maxId = -1;
        for (JsonCursor entry : vocabAt.fieldValues()) {
            int id = entry.integer(0, MAX_TOKENS - 1);
            String other = byId.putIfAbsent(id, entry.key());
            if (other != null) {
                throw entry.error("id " + id + " is also the id of " + JsonPath.quoted(other));
            }
            maxId = Math.max(maxId, id);
        }
        if (maxId < 0) {
            throw vocabAt.error("the vocabulary is empty");
        }
        List<HfAddedTokens.AddedToken> addedTokens = new ArrayList<>();
        Optional<JsonCursor> addedAt = root.find("added_tokens");
        if (addedAt.isPresent()) {
            for (JsonCursor t : addedAt.get().elements()) {
                int id = t.get("id").integer(0, MAX_TOKENS - 1);
                String content = t.get("content").string();
                if (content.isEmpty()) {
                    continue;
                }
                String other = byId.get(id);
                if (other != null && !other.equals(content)) {
                    throw t.get("id").error("id " + id + " is " + JsonPath.quoted(other) + " in model.vocab");
                }
                byId.put(id, content);
                maxId = Math.max(maxId, id);
                boolean special = t.bool("special", false);
                addedTokens.add(new HfAddedTokens.AddedToken(id, content, special, t.bool("normalized", !special),
                        t.bool("lstrip", false), t.bool("rstrip", false), t.bool("single_word", false)));
            }
        }
        String[] pieces = new String[maxId + 1];
        byId.forEach((id, text) -> pieces[id] = text);
        Map<String, Integer> lookup = new HashMap<>();
        for (int id = 0; id < pieces.length; id++) {
            if (pieces[id] != null) {
                lookup.putIfAbsent(pieces[id], id);
            }
        }
        JsonCursor unkAt = model.get("unk_token");
        Integer unknown = lookup.get(unkAt.string());
        if (unknown == null) {
            throw unkAt.error("'" + unkAt.string() + "' is not in model.vocab");
        }
        String continuation = model.optString("continuing_subword_prefix").orElse("##");
        int maxWordChars = model.find("max_input_chars_per_word").map(c -> c.integer(1, Integer.MAX_VALUE)).orElse(100);

        JsonCursor normalizer = root.get("normalizer");
        if (normalizer.isNull() || !normalizer.get("type").string().equals("BertNormalizer")) {
            throw (normalizer.isNull() ? normalizer : normalizer.get("type"))
                    .error("a WordPiece tokenizer needs a BertNormalizer (Rewind runs BERT's WordPiece only)");
        }
        boolean lowercase = normalizer.bool("lowercase", true);
        boolean strip = normalizer.find("strip_accents").filter(c -> !c.isNull()).map(JsonCursor::bool).orElse(lowercase);
        JsonCursor pre = root.get("pre_tokenizer");
        if (pre.isNull() || !pre.get("type").string().equals("BertPreTokenizer")) {
            throw (pre.isNull() ? pre : pre.get("type")).error("a WordPiece tokenizer needs a BertPreTokenizer");
        }
        JsonCursor post = root.get("post_processor");
        HfPostProcessor processor = post.isNull() ? HfPostProcessor.none() : HfPostProcessor.read(post, t -> lookup.getOrDefault(t, -1));
        for (int id : concat(processor.prefix(), processor.suffix())) {
            if (id >= pieces.length || pieces[id] == null) {
                throw post.error("adds token id " + id + ", which is not in the vocabulary");
            }
        }
        return new WordPieceTokenizer(Style.HUGGING_FACE, pieces, unknown, processor.prefix(), processor.suffix(),
                maxWordChars, normalizer.bool("clean_text", true), normalizer.bool("handle_chinese_chars", true), strip,
                lowercase, continuation, addedTokens);
    }

    /**
     * The tokenizer of a GGUF {@code bert} vocabulary ({@code tokenizer.ggml.tokens}, the unknown, CLS and
     * separator ids; llama.cpp's defaults 100, 101 and 102 when a key is absent).
     *
     * @throws TokenizerException naming the key when the metadata are missing or out of range
     */
    public static WordPieceTokenizer fromMetadata(TokenizerMetadata metadata) {
        MetadataReader in = new MetadataReader(metadata);
        String model = in.requiredString(MetadataReader.MODEL);
        if (!model.equals("bert")) {
            throw new TokenizerException("metadata key '" + MetadataReader.MODEL + "' is '" + model
                    + "', not the WordPiece vocabulary 'bert'");
        }
        List<String> tokens = in.requiredStrings(MetadataReader.TOKENS);
        int n = tokens.size();
        if (n == 0 || n > MAX_TOKENS) {
            throw new TokenizerException("metadata key '" + MetadataReader.TOKENS + "' holds " + n + " tokens");
        }
        int unknown = in.tokenId(MetadataReader.UNKNOWN_ID, 100, n);
        int cls = in.tokenId("tokenizer.ggml.cls_token_id", in.tokenId(MetadataReader.BOS_ID, 101, n), n);
        int sep = in.tokenId("tokenizer.ggml.seperator_token_id", in.tokenId(MetadataReader.EOS_ID, 102, n), n);
        if (unknown >= n || cls >= n || sep >= n) {
            throw new TokenizerException("metadata key '" + MetadataReader.TOKENS + "' holds " + n
                    + " tokens, too few for the default unknown/CLS/SEP ids 100/101/102");
        }
        return new WordPieceTokenizer(Style.LLAMA_CPP, tokens.toArray(String[]::new), unknown, new int[] {cls},
                new int[] {sep}, Integer.MAX_VALUE, true, true, false, true, "", List.of());
    }

    /** Which behaviour this tokenizer follows. */
    public Style style() {
        return style;
    }

    /** The number of token ids. */
    public int vocabularySize() {
        return pieces.length;
    }

    /** The text of token {@code id} as the vocabulary holds it. */
    public String piece(int id) {
        return pieces[id];
    }

    /** The number of special tokens {@link #encode(String, boolean, int)} adds around the words. */
    public int specialTokenCount() {
        return prefix.length + suffix.length;
    }

    /** The ids of {@code text}, with {@code [CLS]} and {@code [SEP]}, not truncated. */
    public int[] encode(String text) {
        return encode(text, true, Integer.MAX_VALUE);
    }

    /**
     * The ids of {@code text}.
     *
     * @param addSpecial whether to put the post-processor's tokens ({@code [CLS]}, {@code [SEP]}) around them
     * @param maxTokens  the most ids returned, special tokens included: the words' tokens are cut from the end
     *                   (Hugging Face's truncation of one sequence)
     * @throws IllegalArgumentException if {@code maxTokens} cannot hold the special tokens and one more
     */
    public int[] encode(String text, boolean addSpecial, int maxTokens) {
        int specials = addSpecial ? specialTokenCount() : 0;
        if (maxTokens <= specials) {
            throw new IllegalArgumentException("maxTokens " + maxTokens + " leaves no room beside " + specials
                    + " special tokens");
        }
        IntList ids = new IntList(Math.min(text.length() + 2, 1 << 16));
        if (style == Style.LLAMA_CPP) {
            for (String word : llamaCppWords(text)) {
                wordPieces(word, ids);
            }
        } else {
            for (HfAddedTokens.Segment raw : added.splitRaw(text, true)) {
                switch (raw) {
                    case HfAddedTokens.Segment.Token t -> ids.add(t.id());
                    case HfAddedTokens.Segment.Text t -> {
                        List<HfAddedTokens.Segment> inner = new ArrayList<>();
                        added.splitNormalized(normalize(t.text()), t.atOrigin(), true, inner);
                        for (HfAddedTokens.Segment s : inner) {
                            switch (s) {
                                case HfAddedTokens.Segment.Token token -> ids.add(token.id());
                                case HfAddedTokens.Segment.Text words -> {
                                    for (String word : bertWords(words.text())) {
                                        wordPieces(word, ids);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        int[] words = ids.toArray();
        if (words.length > maxTokens - specials) {
            words = Arrays.copyOf(words, maxTokens - specials);
        }
        return addSpecial ? concat(prefix, words, suffix) : words;
    }

    /** BertNormalizer: clean text, space around CJK ideographs, strip accents, lowercase. */
    String normalize(String text) {
        StringBuilder out = new StringBuilder(text.length() + 8);
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cleanText) {
                if (cp == 0 || cp == 0xFFFD || (isOther(cp) && cp != '\t' && cp != '\n' && cp != '\r')) {
                    continue;
                }
                if (cp == '\t' || cp == '\n' || cp == '\r' || HfNormalizer.isWhiteSpace(cp)) {
                    out.append(' ');
                    continue;
                }
            }
            if (chineseChars && isChinese(cp)) {
                out.append(' ').appendCodePoint(cp).append(' ');
            } else {
                out.appendCodePoint(cp);
            }
        }
        String s = out.toString();
        if (stripAccents) {
            String nfd = Normalizer.normalize(s, Normalizer.Form.NFD);
            StringBuilder kept = new StringBuilder(nfd.length());
            nfd.codePoints().filter(cp -> Character.getType(cp) != Character.NON_SPACING_MARK).forEach(kept::appendCodePoint);
            s = kept.toString();
        }
        return lowercase ? s.toLowerCase(Locale.ROOT) : s;
    }

    /** BertPreTokenizer: words cut at whitespace, each punctuation character a word of its own. */
    private static List<String> bertWords(String text) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (HfNormalizer.isWhiteSpace(cp)) {
                flush(word, words);
            } else if (isBertPunctuation(cp)) {
                flush(word, words);
                words.add(Character.toString(cp));
            } else {
                word.appendCodePoint(cp);
            }
        }
        flush(word, words);
        return words;
    }

    /**
     * llama.cpp's WPM pre-processing: each character replaced by the first character of its NFD form (so a
     * precomposed accented letter loses its accent, a lone combining mark stays), controls dropped, each
     * character lowercased, words cut.
     */
    private static List<String> llamaCppWords(String text) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cp >= 0xC0) {
                cp = Normalizer.normalize(Character.toString(cp), Normalizer.Form.NFD).codePointAt(0);
            }
            if (CodePointClass.isWhitespace(cp)) {
                flush(word, words);
                continue;
            }
            if (cp == 0 || cp == 0xFFFD || (isOther(cp) && Character.getType(cp) != Character.UNASSIGNED)) {
                continue; // llama.cpp's \p{C} flag leaves out unassigned code points
            }
            int lower = Character.toLowerCase(cp);
            if (CodePointClass.isPunctuation(cp) || (cp < 0x7F && CodePointClass.isSymbol(cp)) || isChinese(cp)) {
                flush(word, words);
                words.add(Character.toString(lower));
            } else {
                word.appendCodePoint(lower);
            }
        }
        flush(word, words);
        return words;
    }

    private static void flush(StringBuilder word, List<String> words) {
        if (!word.isEmpty()) {
            words.add(word.toString());
            word.setLength(0);
        }
    }

    /** Greedy longest-match-first WordPiece of one word; the unknown token for a word that does not match. */
    private void wordPieces(String word, IntList out) {
        int[] cps = word.codePoints().toArray();
        if (cps.length > maxWordChars) {
            out.add(unknown);
            return;
        }
        IntList found = new IntList(8);
        int start = 0;
        while (start < cps.length) {
            int match = -1;
            int end = Math.min(cps.length, start + maxPieceChars);
            for (; end > start; end--) {
                String piece = new String(cps, start, end - start);
                String key = start == 0 ? (style == Style.LLAMA_CPP ? "\u2581" + piece : piece) : continuation + piece;
                Integer id = vocab.get(key);
                if (id != null) {
                    match = id;
                    break;
                }
            }
            if (match < 0) {
                out.add(unknown);
                return;
            }
            found.add(match);
            start = end;
        }
        for (int i = 0; i < found.size(); i++) {
            out.add(found.get(i));
        }
    }

    /** Rust's {@code char::is_other}: the general categories C* (Cc, Cf, Cs, Co, Cn). */
    private static boolean isOther(int cp) {
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED -> true;
            default -> false;
        };
    }

    private static boolean isBertPunctuation(int cp) {
        return cp < 0x80 ? (cp > 0x20 && cp < 0x7F && !Character.isLetterOrDigit(cp)) : CodePointClass.isPunctuation(cp);
    }

    /** The CJK ideograph blocks BERT isolates (the Hugging Face library's ranges, which llama.cpp copies). */
    private static boolean isChinese(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }

    private static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) {
            n += p.length;
        }
        int[] out = new int[n];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
