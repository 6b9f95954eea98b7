package dev.rewind.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/** Builds a {@link Tokenizer} from {@code tokenizer.ggml.*} metadata, with llama.cpp's defaults. */
final class TokenizerFactory {

    /** Texts llama.cpp takes for an end-of-turn token when no key names one, most specific first. */
    static final List<String> END_OF_TURN_TEXTS = List.of(
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "_<EOT>",
            "<|end_of_text|>", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>");

    /**
     * The fill-in-the-middle tokens: the key that names each, the texts llama.cpp looks for when no key does
     * (a token found by text becomes CONTROL), and whether it ends generation (pad, repo and file separator do).
     */
    private record FimToken(String key, List<String> texts, boolean endsGeneration) {
    }

    private static final List<FimToken> FIM_TOKENS = List.of(
            new FimToken("tokenizer.ggml.fim_pre_token_id",
                    List.of("<|fim_prefix|>", "<fim-prefix>", "<\uFF5Cfim\u2581begin\uFF5C>", "<PRE>"), false),
            new FimToken("tokenizer.ggml.fim_suf_token_id",
                    List.of("<|fim_suffix|>", "<fim-suffix>", "<\uFF5Cfim\u2581hole\uFF5C>", "<SUF>"), false),
            new FimToken("tokenizer.ggml.fim_mid_token_id",
                    List.of("<|fim_middle|>", "<fim-middle>", "<\uFF5Cfim\u2581end\uFF5C>", "<MID>"), false),
            new FimToken("tokenizer.ggml.fim_pad_token_id", List.of("<|fim_pad|>", "<fim-pad>", "<PAD>"), true),
            new FimToken("tokenizer.ggml.fim_rep_token_id",
                    List.of("<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>"), true),
            new FimToken("tokenizer.ggml.fim_sep_token_id", List.of("<|file_sep|>"), true));

    /** The keys llama.cpp still reads for the first three FIM tokens. */
    private static final List<String> DEPRECATED_FIM_KEYS = List.of(
            "tokenizer.ggml.prefix_token_id", "tokenizer.ggml.suffix_token_id", "tokenizer.ggml.middle_token_id");

    static final String END_OF_MESSAGE_TEXT = "<|eom_id|>";

    private TokenizerFactory() {
    }

    static Tokenizer create(TokenizerMetadata metadata) {
        MetadataReader in = new MetadataReader(metadata);
        String model = in.requiredString(MetadataReader.MODEL);
        return switch (model) {
            case "llama" -> new SentencePieceTokenizer(vocabulary(in, Kind.SENTENCE_PIECE, null));
            case "gpt2" -> {
                PreTokenizerChoice pre = PreTokenizerChoice.forName(in.string(MetadataReader.PRE).orElse(""));
                MergeRanks ranks = new MergeRanks(in.requiredStrings(MetadataReader.MERGES));
                yield new BytePairTokenizer(vocabulary(in, Kind.BYTE_PAIR, pre), pre.splitter(), ranks,
                        pre.ignoreMerges());
            }
            default -> throw new TokenizerException("unsupported tokenizer model '" + model + "' in metadata key '"
                    + MetadataReader.MODEL + "' (supported: llama, gpt2)");
        };
    }

    private enum Kind { SENTENCE_PIECE, BYTE_PAIR }

    private static Vocabulary vocabulary(MetadataReader in, Kind kind, PreTokenizerChoice pre) {
        List<String> pieces = withNamedEmptyPieces(in.requiredStrings(MetadataReader.TOKENS));
        int n = pieces.size();
        if (n == 0) {
            throw new TokenizerException("metadata key '" + MetadataReader.TOKENS + "' is empty");
        }
        float[] scores = in.scores(MetadataReader.SCORES, n).orElseGet(() -> new float[n]);
        int[] typeCodes = in.ints(MetadataReader.TOKEN_TYPE, n).orElse(null);
        TokenType[] types = new TokenType[n];
        int[] attributes = new int[n];
        for (int i = 0; i < n; i++) {
            types[i] = typeCodes == null ? TokenType.NORMAL : TokenType.fromCode(typeCodes[i]);
            attributes[i] = TokenAttributes.of(types[i]);
        }

        // Defaults of llama.cpp per model type; a default outside the vocabulary means none.
        boolean spm = kind == Kind.SENTENCE_PIECE;
        int bos = in.tokenId(MetadataReader.BOS_ID, inRange(spm ? 1 : pre.defaultBos() ? 11 : -1, n), n);
        int eos = in.tokenId(MetadataReader.EOS_ID, inRange(spm ? 2 : 11, n), n);
        int unknown = in.tokenId(MetadataReader.UNKNOWN_ID, inRange(spm ? 0 : -1, n), n);
        int padding = in.tokenId(MetadataReader.PADDING_ID, -1, n);
        int eot = in.tokenId(MetadataReader.EOT_ID, -1, n);
        int eom = in.tokenId(MetadataReader.EOM_ID, -1, n);

        boolean addBos = in.bool(MetadataReader.ADD_BOS).orElse(spm || pre.addBos());
        boolean addEos = in.bool(MetadataReader.ADD_EOS).orElse(false);
        boolean addSpacePrefix = in.bool(MetadataReader.ADD_SPACE_PREFIX).orElse(spm);
        boolean cleanSpaces = !spm && pre.cleanSpaces();
        if (addBos && bos < 0) {
            throw new TokenizerException("metadata key '" + MetadataReader.ADD_BOS + "' is true but '"
                    + MetadataReader.BOS_ID + "' names no token");
        }
        if (addEos && eos < 0) {
            throw new TokenizerException("metadata key '" + MetadataReader.ADD_EOS + "' is true but '"
                    + MetadataReader.EOS_ID + "' names no token");
        }

        // As llama.cpp: find EOT/EOM by text when no key names them; tokens whose text marks an end of
        // turn end generation and are treated as CONTROL tokens even if typed otherwise.
        List<Integer> byText = new ArrayList<>();
        for (String text : END_OF_TURN_TEXTS) {
            byText.add(indexOf(pieces, text));
        }
        if (eot < 0) {
            eot = byText.stream().filter(id -> id >= 0).findFirst().orElse(-1);
        }
        int eomByText = indexOf(pieces, END_OF_MESSAGE_TEXT);
        if (eom < 0) {
            eom = eomByText;
        }
        TreeSet<Integer> endOfGeneration = new TreeSet<>();
        byText.add(eomByText);
        for (int id : byText) {
            if (id >= 0) {
                endOfGeneration.add(id);
                attributes[id] |= TokenAttributes.CONTROL;
            }
        }
        for (int id : new int[] {eos, eot, eom}) {
            if (id >= 0) {
                endOfGeneration.add(id);
            }
        }
        if (eot >= 0) {
            attributes[eot] |= TokenAttributes.CONTROL;
        }
        if (eom >= 0) {
            attributes[eom] |= TokenAttributes.CONTROL;
        }
        for (int i = 0; i < FIM_TOKENS.size(); i++) {
            FimToken fim = FIM_TOKENS.get(i);
            // llama.cpp reads the deprecated key after the current one, so it wins when both are present.
            int id = i < DEPRECATED_FIM_KEYS.size() ? in.tokenId(DEPRECATED_FIM_KEYS.get(i), -1, n) : -1;
            if (id < 0) {
                id = in.tokenId(fim.key(), -1, n);
            }
            if (id < 0) {
                id = fim.texts().stream().mapToInt(text -> indexOf(pieces, text)).filter(t -> t >= 0).findFirst()
                        .orElse(-1);
                if (id >= 0) {
                    attributes[id] |= TokenAttributes.CONTROL;
                }
            }
            if (id >= 0 && fim.endsGeneration()) {
                endOfGeneration.add(id);
            }
        }

        applyModelSpecificAttributes(in, pieces, attributes, pre);

        return new Vocabulary(pieces, scores, types, attributes,
                new SpecialTokens(bos, eos, eot, eom, unknown, padding),
                new FramingRules(addBos, addEos, addSpacePrefix, cleanSpaces),
                endOfGeneration.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * llama.cpp strips whitespace before {@code <mask>} in the jina-v2 vocabularies, and after the special
     * tokens of Phi-3 vocabularies, recognised by a {@code general.name} containing "phi-3" or "phi3" (except
     * after {@code <unk>}, {@code <s>} and {@code <|endoftext|>}; and also after {@code </s>}).
     */
    private static void applyModelSpecificAttributes(MetadataReader in, List<String> pieces, int[] attributes,
                                                     PreTokenizerChoice pre) {
        String preName = in.string(MetadataReader.PRE).orElse("");
        if (pre != null && (preName.contains("jina-v2-de") || preName.contains("jina-v2-es")
                || preName.contains("jina-v2-code"))) {
            int mask = indexOf(pieces, "<mask>");
            if (mask >= 0) {
                attributes[mask] |= TokenAttributes.LSTRIP;
            }
            return;
        }
        String name = in.string(MetadataReader.GENERAL_NAME).orElse("").toLowerCase(Locale.ROOT);
        if (!name.contains("phi-3") && !name.contains("phi3")) {
            return;
        }
        for (int i = 0; i < attributes.length; i++) {
            if (TokenAttributes.has(attributes[i], TokenAttributes.SPECIAL_CANDIDATE)) {
                attributes[i] |= TokenAttributes.RSTRIP;
            }
        }
        int closing = indexOf(pieces, "</s>");
        if (closing >= 0) {
            attributes[closing] |= TokenAttributes.RSTRIP;
        }
        for (String text : List.of("<unk>", "<s>", "<|endoftext|>")) {
            int id = indexOf(pieces, text);
            if (id >= 0) {
                attributes[id] &= ~TokenAttributes.RSTRIP;
            }
        }
    }

    /** llama.cpp names an empty piece {@code [EMPTY_<id>]}, so that it is never matched or lost. */
    private static List<String> withNamedEmptyPieces(List<String> pieces) {
        if (pieces.stream().noneMatch(String::isEmpty)) {
            return pieces;
        }
        List<String> named = new ArrayList<>(pieces);
        for (int i = 0; i < named.size(); i++) {
            if (named.get(i).isEmpty()) {
                named.set(i, "[EMPTY_" + i + "]");
            }
        }
        return named;
    }

    private static int inRange(int id, int size) {
        return id >= 0 && id < size ? id : -1;
    }

    /** The id llama.cpp's text lookup gives for {@code text} (the last token with that piece), or -1. */
    private static int indexOf(List<String> pieces, String text) {
        return pieces.lastIndexOf(text);
    }
}
