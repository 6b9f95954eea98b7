package dev.rewind.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * How a byte-level BPE vocabulary cuts text into words before merging: one constant per pre-tokenizer type
 * of llama.cpp ({@code LLAMA_VOCAB_PRE_TYPE_*}), each the list of regexes llama.cpp runs for it, in order.
 * Each regex splits every chunk the previous ones left (see {@link RegexWordSplitter}); the two regexes
 * llama.cpp has hand-written scanners for (GPT-2's and Llama 3's) run on {@link Gpt2WordSplitter} and
 * {@link Llama3WordSplitter}, with the same words. {@link PreTokenizerChoice} maps the names of
 * {@code tokenizer.ggml.pre} to these.
 */
enum PreTokenizer {

    /** llama.cpp's fallback for {@code default} or a missing pre-tokenizer. */
    DEFAULT("[\\p{P}\\$\\+<=>\\^~\\|]+", Regex.GPT2, "\\p{N}+", "[0-9][0-9][0-9]"),

    /** GPT-2 (also MPT, OLMo, JAIS, RoBERTa, …). */
    GPT2(Regex.GPT2),

    /** Llama 3 (also DBRX, Smaug, ChatGLM 4): contractions in any case, numbers in groups of up to three digits. */
    LLAMA3(Regex.LLAMA3),

    /** DeepSeek LLM: newlines alone, then runs of letters (a fixed list of ranges), punctuation, CJK, numbers. */
    DEEPSEEK_LLM(
            "[\r\n]",
            "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF"
                    + "\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1"
                    + "\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5"
                    + "\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A"
                    + "\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D"
                    + "\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3"
                    + "\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115"
                    + "\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F"
                    + "\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3"
                    + "\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF"
                    + "\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A"
                    + "\uD801\uDC00-\uD801\uDC4F\uD801\uDCB0-\uD801\uDCD3\uD801\uDCD8-\uD801\uDCFB"
                    + "\uD803\uDC80-\uD803\uDCB2\uD803\uDCC0-\uD803\uDCF2\uD806\uDCA0-\uD806\uDCDF"
                    + "\uD83A\uDD00-\uD83A\uDD43]+",
            "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
            "\\s+$",
            "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
            "\\p{N}+"),

    /** DeepSeek V3: numbers in groups of up to three, CJK and kana runs, then a Llama-3-like regex. */
    DEEPSEEK3_LLM(
            "\\p{N}{1,3}",
            "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+",
            "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
                    + "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"),

    /** DeepSeek Coder: newlines alone, letters, punctuation, CJK, single digits. */
    DEEPSEEK_CODER("[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+", "\\p{N}"),

    /** Falcon: punctuation runs first, then GPT-2, then runs of three ASCII digits. */
    FALCON("[\\p{P}\\$\\+<=>\\^~\\|`]+", Regex.GPT2, "[0-9][0-9][0-9]"),

    /** StarCoder (also Refact, Command-R, SmolLM, CodeShell, EXAONE, Minerva): single digits, then GPT-2. */
    STARCODER("\\p{N}", Regex.GPT2),

    /** Qwen 2 (also StableLM 2, Megrez): like Llama 3 but single digits. */
    QWEN2("(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),

    /**
     * BLOOM (also Poro, GPT-3 Finnish): an optional space and a run of anything but whitespace and a few
     * sentence marks. As in the original, the brackets' {@code (}, {@code |} and {@code )} are members of
     * the class, so they end a word too.
     */
    BLOOM(Regex.BLOOM),

    /** Viking: BLOOM's regex, then single digits. */
    VIKING(Regex.BLOOM, "\\p{N}"),

    /**
     * Tekken (Mistral NeMo). llama.cpp writes a letter that is not a lowercase ASCII letter as
     * {@code ((?=[\p{L}])([^a-z]))}, and one that is not uppercase ASCII as {@code ((?=[\p{L}])([^A-Z]))}; each
     * is a single character, so here they are the classes {@code [\p{L}&&[^a-z]]} and
     * {@code [\p{L}&&[^A-Z]]}, which match the same characters and backtrack the same way but do not make
     * Java's regex engine recurse once per letter. (On the collapsed text every non-ASCII letter is the
     * letter stand-in, so both classes contain it, as in llama.cpp.)
     */
    TEKKEN("[^\\r\\n\\p{L}\\p{N}]?[\\p{L}&&[^a-z]]*[\\p{L}&&[^A-Z]]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}&&[^a-z]]+"
            + "[\\p{L}&&[^A-Z]]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),

    /**
     * GPT-4o's o200k regex (also Llama 4), which llama.cpp added after the reference commit: Tekken's letter
     * classes with an optional contraction after the letters, and numbers in groups of up to three digits.
     */
    GPT4O("[^\\r\\n\\p{L}\\p{N}]?[\\p{L}&&[^a-z]]*[\\p{L}&&[^A-Z]]+" + Regex.CONTRACTION + "?"
            + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}&&[^a-z]]+[\\p{L}&&[^A-Z]]*" + Regex.CONTRACTION + "?"
            + "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),

    /** Chameleon: sentinel and image tokens, tabs/newlines and double spaces, digits, punctuation, then GPT-2. */
    CHAMELEON(
            "<sentinel:[0-9]+>",
            "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
            "([\\t\\n]|    |  )",
            "\\p{N}",
            "[\\p{P}!-/:-@\\[-`{-~]",
            Regex.GPT2);

    /** Regexes several pre-tokenizers share, exactly as llama.cpp writes them. */
    static final class Regex {

        /** GPT-2's regex, which llama.cpp (and so {@link Gpt2WordSplitter}) scans by hand. */
        static final String GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

        /** Llama 3's regex, which llama.cpp (and so {@link Llama3WordSplitter}) scans by hand. */
        static final String LLAMA3 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
                + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

        /** An English contraction with either case of letters, as llama.cpp writes {@code (?i:'s|'t|...)}. */
        static final String CONTRACTION = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

        static final String BLOOM = " ?[^(\\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+";

        private Regex() {
        }
    }

    private final List<String> regexes;
    private final List<WordSplitter> stages;

    PreTokenizer(String... regexes) {
        this.regexes = List.of(regexes);
        this.stages = this.regexes.stream().map(PreTokenizer::stage).toList();
    }

    /** The stage llama.cpp runs for {@code regex}: its hand-written scanner if it has one, else the regex. */
    private static WordSplitter stage(String regex) {
        return switch (regex) {
            case Regex.GPT2 -> new Gpt2WordSplitter();
            case Regex.LLAMA3 -> new Llama3WordSplitter();
            default -> RegexWordSplitter.ofLlamaCpp(regex);
        };
    }

    /** The regexes of this pre-tokenizer, in llama.cpp's syntax and order. */
    List<String> regexes() {
        return regexes;
    }

    /** The words of {@code text}, in order; their concatenation is {@code text}. */
    List<String> split(String text) {
        CodePoints cps = CodePoints.of(text);
        IntList chunks = new IntList(1);
        if (cps.length() > 0) {
            chunks.add(cps.length());
        }
        for (WordSplitter stage : stages) {
            chunks = stage.split(cps, chunks);
        }
        List<String> words = new ArrayList<>(chunks.size());
        int start = 0;
        for (int i = 0; i < chunks.size(); i++) {
            int end = start + chunks.get(i);
            if (end > start) {
                words.add(cps.text(start, end));
            }
            start = end;
        }
        return words;
    }
}
