package dev.rewind.tokenizer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads a Hugging Face tokenizer folder into a {@link HuggingFaceTokenizer}. Every problem is a
 * {@link TokenizerException} with one line naming the file and the JSON path; everything whose size comes from
 * the files (the token table, the merge table) is checked before it is allocated.
 */
final class HuggingFaceLoader {

    /** Larger than any real tokenizer.json (the largest fixture is 33 MB). */
    static final long MAX_FILE_BYTES = 1L << 30;
    /** Token ids must be below this (real vocabularies have at most a few hundred thousand tokens). */
    static final int MAX_TOKENS = 1 << 24;
    /** How many ids may be unused between the tokens a file defines. */
    static final int MAX_UNUSED_IDS = 1 << 16;
    /** Merge lists are at most about a million long. */
    static final int MAX_MERGES = 1 << 22;

    private static final Set<String> TRANSFORMERS_BOS_CLASSES = Set.of("LlamaTokenizer", "LlamaTokenizerFast",
            "CodeLlamaTokenizer", "CodeLlamaTokenizerFast", "GemmaTokenizer", "GemmaTokenizerFast");

    private HuggingFaceLoader() {
    }

    static HuggingFaceTokenizer.Parts read(Path folder, HuggingFaceTokenizer.SpecialTokenRule rule) throws IOException {
        if (!Files.isDirectory(folder)) {
            throw new TokenizerException(folder + ": not a folder (a Hugging Face tokenizer is a folder with "
                    + "tokenizer.json)");
        }
        Path tokenizerFile = folder.resolve("tokenizer.json");
        if (!Files.isRegularFile(tokenizerFile)) {
            throw new TokenizerException(folder + ": no tokenizer.json (only folders with a tokenizer.json are "
                    + "supported, not tokenizer.model or vocab.json alone)");
        }
        JsonCursor root = readJson(tokenizerFile);
        Path configFile = folder.resolve("tokenizer_config.json");
        JsonCursor config = Files.isRegularFile(configFile) ? readJson(configFile)
                : JsonCursor.root(new Json.JsonObject(Map.of()), configFile.toString());
        return new Reading(folder, root, config, rule).parts();
    }

    /** The file as JSON, its size checked first and its bytes required to be UTF-8. */
    static JsonCursor readJson(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
            throw new TokenizerException(file + ": " + size + " bytes, more than the " + MAX_FILE_BYTES
                    + " a tokenizer file may have");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (CharacterCodingException e) {
            throw new TokenizerException(file + ": not valid JSON: the file is not UTF-8", e);
        }
        return JsonCursor.root(JsonReader.parse(text, file.toString()), file.toString());
    }

    /** One reading of a folder. */
    private static final class Reading {

        private final Path folder;
        private final JsonCursor root;
        private final JsonCursor config;
        private final HuggingFaceTokenizer.SpecialTokenRule rule;
        private final Map<String, Integer> vocab = new HashMap<>();
        private final Map<String, Integer> addedByContent = new HashMap<>();
        private String[] pieces;

        Reading(Path folder, JsonCursor root, JsonCursor config, HuggingFaceTokenizer.SpecialTokenRule rule) {
            this.folder = folder;
            this.root = root;
            this.config = config;
            this.rule = rule;
        }

        HuggingFaceTokenizer.Parts parts() throws IOException {
            root.fields(); // the top level must be an object
            root.find("version").ifPresent(v -> {
                if (!v.string().equals("1.0")) {
                    throw v.error("unknown tokenizer.json version '" + v.string() + "' (known: 1.0)");
                }
            });
            JsonCursor model = root.get("model");
            checkModelType(model);
            int maxVocabId = readVocabulary(model.get("vocab"));
            List<HfAddedTokens.AddedToken> added = readAddedTokens();
            int maxId = maxVocabId;
            for (HfAddedTokens.AddedToken t : added) {
                maxId = Math.max(maxId, t.id());
            }
            int defined = vocab.size() + added.size();
            if (maxId >= defined + MAX_UNUSED_IDS) {
                throw root.get("model").error("token id " + maxId + " leaves more than " + MAX_UNUSED_IDS
                        + " ids unused among " + defined + " tokens");
            }
            int size = maxId + 1;
            pieces = new String[size];
            vocab.forEach((piece, id) -> pieces[id] = piece);
            boolean[] isAdded = new boolean[size];
            for (HfAddedTokens.AddedToken t : added) {
                pieces[t.id()] = t.content();
                isAdded[t.id()] = true;
                addedByContent.put(t.content(), t.id());
            }

            HfNormalizer normalizer = root.find("normalizer").map(HfNormalizer::read).orElse(null);
            HfPreTokenizer preTokenizer = root.find("pre_tokenizer").map(HfPreTokenizer::read).orElse(null);
            HfDecoder decoder = root.find("decoder").map(HfDecoder::read).orElse(null);
            HfPostProcessor postProcessor = root.find("post_processor")
                    .map(p -> HfPostProcessor.read(p, this::tokenId)).orElse(HfPostProcessor.none());
            HfBpe bpe = readModel(model);

            HuggingFaceConfig settings = readConfig();
            int bos = configToken("bos_token", settings.bosToken());
            int eos = configToken("eos_token", settings.eosToken());
            int padding = configToken("pad_token", settings.paddingToken());
            int unknown = model.optString("unk_token").map(vocab::get).orElse(-1);
            if (unknown < 0) {
                unknown = configToken("unk_token", settings.unknownToken());
            }
            if (rule == HuggingFaceTokenizer.SpecialTokenRule.TRANSFORMERS
                    && settings.tokenizerClass().filter(TRANSFORMERS_BOS_CLASSES::contains).isPresent()) {
                postProcessor = transformersTemplate(settings, bos, eos);
            }
            checkIds(root.find("post_processor").orElse(root), postProcessor, size);

            // Types: special added tokens are CONTROL, other added tokens USER_DEFINED, byte tokens BYTE.
            boolean byteFallback = model.bool("byte_fallback", false);
            TokenType[] types = new TokenType[size];
            int[] attributes = new int[size];
            boolean[] skipped = new boolean[size];
            Set<String> special = new HashSet<>(settings.additionalSpecialTokens());
            for (HfAddedTokens.AddedToken t : added) {
                if (t.special()) {
                    special.add(t.content());
                }
            }
            for (int id = 0; id < size; id++) {
                if (pieces[id] == null) {
                    pieces[id] = "";
                    types[id] = TokenType.UNUSED;
                } else if (isAdded[id]) {
                    types[id] = special.contains(pieces[id]) ? TokenType.CONTROL : TokenType.USER_DEFINED;
                } else if (id == unknown) {
                    types[id] = TokenType.UNKNOWN;
                } else if (byteFallback && isBytePiece(pieces[id])) {
                    types[id] = TokenType.BYTE;
                } else {
                    types[id] = TokenType.NORMAL;
                }
                attributes[id] = TokenAttributes.of(types[id]);
                skipped[id] = special.contains(pieces[id]);
            }
            for (HfAddedTokens.AddedToken t : added) {
                attributes[t.id()] |= (t.lstrip() ? TokenAttributes.LSTRIP : 0) | (t.rstrip() ? TokenAttributes.RSTRIP : 0);
            }

            List<String> pieceList = Arrays.asList(pieces);
            int eot = firstByText(pieceList, TokenizerFactory.END_OF_TURN_TEXTS);
            int eom = pieceList.lastIndexOf(TokenizerFactory.END_OF_MESSAGE_TEXT);
            TreeSet<Integer> endOfGeneration = new TreeSet<>();
            for (String text : TokenizerFactory.END_OF_TURN_TEXTS) {
                int id = pieceList.lastIndexOf(text);
                if (id >= 0) {
                    endOfGeneration.add(id);
                }
            }
            for (int id : new int[] {eos, eot, eom}) {
                if (id >= 0) {
                    endOfGeneration.add(id);
                }
            }
            endOfGeneration.addAll(generationEndIds(size));

            int[] prefix = postProcessor.prefix();
            int[] suffix = postProcessor.suffix();
            boolean prepends = prependsSpace(normalizer, preTokenizer);
            FramingRules framing = new FramingRules(prefix.length > 0 && prefix[0] == bos && bos >= 0,
                    suffix.length > 0 && suffix[suffix.length - 1] == eos && eos >= 0,
                    prepends, settings.cleanUpTokenizationSpaces());
            float[] scores = new float[size];
            Vocabulary vocabulary = new Vocabulary(pieceList, scores, types, attributes,
                    new SpecialTokens(bos, eos, eot, eom, unknown, padding), framing,
                    endOfGeneration.stream().mapToInt(Integer::intValue).toArray());
            return new HuggingFaceTokenizer.Parts(vocabulary, new HfAddedTokens(added, normalizer), normalizer,
                    preTokenizer, bpe, postProcessor, decoder, isAdded, skipped, settings);
        }

        private static void checkModelType(JsonCursor model) {
            Optional<String> type = model.optString("type");
            if (type.isEmpty()) {
                if (model.find("merges").isEmpty()) {
                    throw model.error("no model type, and no merges to recognise a BPE model by");
                }
                return; // files written before the field existed: a model with merges is BPE
            }
            if (!type.get().equals("BPE")) {
                throw model.get("type").error("unsupported tokenizer model '" + type.get() + "' (supported: BPE"
                        + (type.get().equals("WordPiece") ? "; WordPiece comes with the embeddings work" : "") + ")");
            }
        }

        /** Fills {@link #vocab} and returns the largest id. */
        private int readVocabulary(JsonCursor at) {
            int maxId = -1;
            Map<Integer, String> byId = new HashMap<>();
            for (JsonCursor entry : at.fieldValues()) {
                int id = entry.integer(0, MAX_TOKENS - 1);
                String other = byId.putIfAbsent(id, entry.key());
                if (other != null) {
                    throw entry.error("id " + id + " is also the id of " + JsonPath.quoted(other));
                }
                vocab.put(entry.key(), id);
                maxId = Math.max(maxId, id);
            }
            if (vocab.isEmpty()) {
                throw at.error("the vocabulary is empty");
            }
            return maxId;
        }

        private List<HfAddedTokens.AddedToken> readAddedTokens() {
            List<HfAddedTokens.AddedToken> out = new ArrayList<>();
            Map<Integer, String> contentById = new HashMap<>();
            Optional<JsonCursor> list = root.find("added_tokens");
            if (list.isEmpty()) {
                return out;
            }
            for (JsonCursor t : list.get().elements()) {
                int id = t.get("id").integer(0, MAX_TOKENS - 1);
                String content = t.get("content").string();
                if (content.isEmpty()) {
                    continue; // the library ignores an added token without text
                }
                String other = contentById.putIfAbsent(id, content);
                if (other != null && !other.equals(content)) {
                    throw t.get("id").error("id " + id + " is also the id of the added token " + JsonPath.quoted(other));
                }
                boolean special = t.bool("special", false);
                out.add(new HfAddedTokens.AddedToken(id, content, special, t.bool("normalized", !special),
                        t.bool("lstrip", false), t.bool("rstrip", false), t.bool("single_word", false)));
            }
            return out;
        }

        /** The BPE model: flags, unknown token and merges. */
        private HfBpe readModel(JsonCursor model) {
            for (String key : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
                model.optString(key).filter(s -> !s.isEmpty()).ifPresent(s -> {
                    throw model.get(key).error("'" + s + "' is not supported (only BPE models without one)");
                });
            }
            model.find("dropout").ifPresent(d -> {
                double p = d.number();
                if (!(p >= 0 && p <= 1)) {
                    throw d.error("a dropout must be between 0 and 1, found " + p);
                }
                // Dropout is a training-time regularizer; Rewind always merges deterministically.
            });
            int unknown = -1;
            Optional<JsonCursor> unk = model.find("unk_token");
            if (unk.isPresent()) {
                Integer id = vocab.get(unk.get().string());
                if (id == null) {
                    throw unk.get().error("'" + unk.get().string() + "' is not in model.vocab");
                }
                unknown = id;
            }
            JsonCursor mergesAt = model.get("merges");
            int count = mergesAt.size();
            if (count > MAX_MERGES) {
                throw mergesAt.error(count + " merges, more than the " + MAX_MERGES + " Rewind accepts");
            }
            MergeTable merges = new MergeTable(Math.max(count, 1));
            int rank = 0;
            for (JsonCursor merge : mergesAt.elements()) {
                String left;
                String right;
                if (merge.isString()) {
                    String line = merge.string();
                    if (line.startsWith("#version")) {
                        continue;
                    }
                    String[] parts = line.split(" ", -1);
                    if (parts.length != 2) {
                        throw merge.error("expected two tokens separated by one space, found '" + line + "'");
                    }
                    left = parts[0];
                    right = parts[1];
                } else if (merge.isArray()) {
                    List<JsonCursor> pair = merge.elements();
                    if (pair.size() != 2) {
                        throw merge.error("expected a pair of tokens, found " + pair.size() + " elements");
                    }
                    left = pair.get(0).string();
                    right = pair.get(1).string();
                } else {
                    throw merge.error("expected \"left right\" or [\"left\", \"right\"], found " + Json.kind(merge.value()));
                }
                merges.put(mergeToken(merge, left), mergeToken(merge, right), rank++,
                        mergeToken(merge, left + right));
            }
            return new HfBpe(vocab, merges, unknown, model.bool("fuse_unk", false), model.bool("byte_fallback", false),
                    model.bool("ignore_merges", false));
        }

        private int mergeToken(JsonCursor merge, String token) {
            Integer id = vocab.get(token);
            if (id == null) {
                throw merge.error("refers to " + JsonPath.quoted(token) + ", which is not in model.vocab");
            }
            return id;
        }

        /** The id of a token by its text: an added token's, else the model vocabulary's, else -1. */
        private int tokenId(String text) {
            Integer id = addedByContent.get(text);
            if (id == null) {
                id = vocab.get(text);
            }
            return id == null ? -1 : id;
        }

        /** The id of a token that tokenizer_config.json names, or -1 when it names none. */
        private int configToken(String key, Optional<String> text) {
            if (text.isEmpty()) {
                return -1;
            }
            int id = tokenId(text.get());
            if (id < 0) {
                throw config.get(key).error("'" + text.get() + "' is not a token of tokenizer.json");
            }
            return id;
        }

        private HuggingFaceConfig readConfig() throws IOException {
            Map<String, String> templates = new LinkedHashMap<>();
            config.find("chat_template").ifPresent(t -> {
                if (t.isString()) {
                    templates.put(HuggingFaceConfig.DEFAULT_TEMPLATE, t.string());
                } else {
                    for (JsonCursor named : t.elements()) {
                        templates.put(named.get("name").string(), named.get("template").string());
                    }
                }
            });
            // transformers reads a template file beside the config in preference to the config's key.
            Path jinja = folder.resolve("chat_template.jinja");
            Path json = folder.resolve("chat_template.json");
            if (Files.isRegularFile(jinja)) {
                long size = Files.size(jinja);
                if (size > MAX_FILE_BYTES) {
                    throw new TokenizerException(jinja + ": " + size + " bytes, more than a template may have");
                }
                templates.put(HuggingFaceConfig.DEFAULT_TEMPLATE, Files.readString(jinja, StandardCharsets.UTF_8));
            } else if (Files.isRegularFile(json)) {
                templates.put(HuggingFaceConfig.DEFAULT_TEMPLATE, readJson(json).get("chat_template").string());
            }
            List<String> additional = new ArrayList<>();
            config.find("additional_special_tokens").ifPresent(list -> {
                for (JsonCursor t : list.elements()) {
                    additional.add(tokenText(t));
                }
            });
            return new HuggingFaceConfig(config.find("add_bos_token").map(JsonCursor::bool),
                    config.find("add_eos_token").map(JsonCursor::bool),
                    config.find("bos_token").map(Reading::tokenText), config.find("eos_token").map(Reading::tokenText),
                    config.find("unk_token").map(Reading::tokenText), config.find("pad_token").map(Reading::tokenText),
                    additional, config.bool("clean_up_tokenization_spaces", true), templates,
                    config.optString("tokenizer_class"));
        }

        /** A token named as a string or as an AddedToken object ({@code {"content": ...}}). */
        private static String tokenText(JsonCursor at) {
            return at.isObject() ? at.get("content").string() : at.string();
        }

        /** The template Python transformers' Llama and Gemma tokenizers build from add_bos_token/add_eos_token. */
        private HfPostProcessor transformersTemplate(HuggingFaceConfig settings, int bos, int eos) {
            boolean addBos = settings.addBosToken().orElse(true);
            boolean addEos = settings.addEosToken().orElse(false);
            if (addBos && bos < 0) {
                throw config.error("add_bos_token is true but no bos_token is named");
            }
            if (addEos && eos < 0) {
                throw config.error("add_eos_token is true but no eos_token is named");
            }
            return new HfPostProcessor.Template(addBos ? new int[] {bos} : new int[0],
                    addEos ? new int[] {eos} : new int[0]);
        }

        private static void checkIds(JsonCursor at, HfPostProcessor processor, int size) {
            for (int[] ids : List.of(processor.prefix(), processor.suffix())) {
                for (int id : ids) {
                    if (id >= size) {
                        throw at.error("token id " + id + " is outside the vocabulary of " + size + " tokens");
                    }
                }
            }
        }

        /** generation_config.json's eos_token_id (one id or a list), which also ends generation. */
        private List<Integer> generationEndIds(int size) throws IOException {
            Path file = folder.resolve("generation_config.json");
            List<Integer> ids = new ArrayList<>();
            if (!Files.isRegularFile(file)) {
                return ids;
            }
            Optional<JsonCursor> eos = readJson(file).find("eos_token_id");
            if (eos.isPresent()) {
                List<JsonCursor> values = eos.get().isArray() ? eos.get().elements() : List.of(eos.get());
                for (JsonCursor v : values) {
                    ids.add(v.integer(0, size - 1));
                }
            }
            return ids;
        }

        private static int firstByText(List<String> pieces, List<String> texts) {
            for (String text : texts) {
                int id = pieces.lastIndexOf(text);
                if (id >= 0) {
                    return id;
                }
            }
            return -1;
        }

        private static boolean isBytePiece(String piece) {
            return piece.length() == 6 && piece.startsWith("<0x") && piece.endsWith(">")
                    && Character.digit(piece.charAt(3), 16) >= 0 && Character.digit(piece.charAt(4), 16) >= 0;
        }

        /** Whether encoding puts a space marker in front of the text (Prepend, Metaspace, ByteLevel's prefix). */
        private static boolean prependsSpace(HfNormalizer normalizer, HfPreTokenizer preTokenizer) {
            boolean byNormalizer = normalizer instanceof HfNormalizer.Prepend
                    || (normalizer instanceof HfNormalizer.Sequence(List<HfNormalizer> steps)
                    && steps.stream().anyMatch(s -> s instanceof HfNormalizer.Prepend));
            return byNormalizer || prependsSpace(preTokenizer);
        }

        private static boolean prependsSpace(HfPreTokenizer p) {
            return switch (p) {
                case null -> false;
                case HfPreTokenizer.Metaspace m -> m.scheme() != HfPreTokenizer.Metaspace.PrependScheme.NEVER;
                case HfPreTokenizer.ByteLevel b -> b.addPrefixSpace();
                case HfPreTokenizer.Sequence s -> s.steps().stream().anyMatch(Reading::prependsSpace);
                default -> false;
            };
        }
    }
}
