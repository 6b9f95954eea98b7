package dev.rewind.tokenizer;

/**
 * One stage of a pre-tokenizer: it splits each chunk of the text further. Chunks are given as
 * lengths in code points, in order, covering the whole text; the result is again such a list.
 * Stages never look across chunk boundaries.
 */
sealed interface WordSplitter permits Gpt2WordSplitter, Llama3WordSplitter, RegexWordSplitter {

    IntList split(CodePoints text, IntList chunks);
}
