package dev.rewind.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * How a byte-level BPE vocabulary cuts text into words before merging, chosen by
 * {@code tokenizer.ggml.pre}. Each kind is a sequence of {@link WordSplitter} stages, as llama.cpp
 * runs its list of regexes for that pre-tokenizer type.
 */
enum PreTokenizer {

    /** llama.cpp's fallback for {@code default} or a missing pre-tokenizer. */
    DEFAULT(List.of(
            new RegexWordSplitter("[{P}\\$\\+<=>\\^~\\|]+"),
            new Gpt2WordSplitter(),
            new RegexWordSplitter("[{N}]+"),
            new RegexWordSplitter("[0-9][0-9][0-9]"))),

    /** GPT-2. */
    GPT2(List.of(new Gpt2WordSplitter())),

    /** Llama 3: contractions in any case, numbers in groups of up to three digits. */
    LLAMA3(List.of(new Llama3WordSplitter())),

    /** Qwen 2: like Llama 3 but single digits. */
    QWEN2(List.of(new RegexWordSplitter(
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
                    + "|[^\\r\\n{L}{N}]?[{L}]+"
                    + "|[{N}]"
                    + "| ?[^{WS}{L}{N}]+[\\r\\n]*"
                    + "|[{WS}]*[\\r\\n]+"
                    + "|[{WS}]+(?![^{WS}])"
                    + "|[{WS}]+")));

    private final List<WordSplitter> stages;

    PreTokenizer(List<WordSplitter> stages) {
        this.stages = stages;
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
            words.add(cps.text(start, end));
            start = end;
        }
        return words;
    }
}
