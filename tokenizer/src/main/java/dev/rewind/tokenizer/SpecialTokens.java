package dev.rewind.tokenizer;

import java.util.OptionalInt;

/**
 * The ids of a vocabulary's special tokens; -1 means the vocabulary has none.
 *
 * @param bos beginning of sequence
 * @param eos end of sequence
 * @param eot end of turn
 * @param eom end of message
 * @param unknown the unknown token
 * @param padding the padding token
 */
public record SpecialTokens(int bos, int eos, int eot, int eom, int unknown, int padding) {

    /** The BOS token, if any. */
    public OptionalInt bosToken() {
        return Vocabulary.optional(bos);
    }

    /** The EOS token, if any. */
    public OptionalInt eosToken() {
        return Vocabulary.optional(eos);
    }
}
