package dev.rewind.tokenizer;

/** A piece of the input after special tokens have been split out: plain text or one special token. */
sealed interface Fragment {

    /** The characters {@code [start, end)} of the input, to be tokenized normally. */
    record Text(int start, int end) implements Fragment {
    }

    /** A special token found in the input. */
    record Special(int id) implements Fragment {
    }
}
