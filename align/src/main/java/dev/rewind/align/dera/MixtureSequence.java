package dev.rewind.align.dera;

import dev.rewind.engine.logits.TokenSequence;

/**
 * A sequence of a {@link MixtureSource}: one sequence in each component source, all holding the same
 * tokens. Forking forks every part (a model's fork shares its pages), truncating truncates every part,
 * closing closes every part; nothing is replayed or rediscovered, so the parts never disagree.
 * Used by one thread at a time, like any sequence.
 */
public final class MixtureSequence implements TokenSequence {

    private final MixtureSource owner;
    private final TokenSequence[] parts;
    private int length;
    private boolean closed;

    MixtureSequence(MixtureSource owner, TokenSequence[] parts) {
        this.owner = owner;
        this.parts = parts;
        this.length = parts[0].length();
    }

    MixtureSource owner() {
        return owner;
    }

    /** The parts, in component order (the array itself: the mixture's forward pass writes through them). */
    TokenSequence[] parts() {
        return parts;
    }

    /** Records that a forward call appended {@code n} tokens to every part. */
    void advance(int n) {
        length += n;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public MixtureSequence fork() {
        checkOpen();
        TokenSequence[] forks = new TokenSequence[parts.length];
        try {
            for (int i = 0; i < parts.length; i++) {
                forks[i] = parts[i].fork();
            }
        } catch (RuntimeException e) {
            for (TokenSequence f : forks) {
                if (f != null) {
                    f.close();
                }
            }
            throw e;
        }
        MixtureSequence fork = new MixtureSequence(owner, forks);
        fork.length = length;
        return owner.register(fork);
    }

    @Override
    public void truncate(int newLength) {
        checkOpen();
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException("cannot truncate a sequence of " + length + " tokens to " + newLength);
        }
        for (TokenSequence p : parts) {
            if (!p.canTruncate(newLength)) {
                throw new IllegalStateException("cannot rewind a sequence of " + length + " tokens to " + newLength
                        + ": a model's sliding-window layers no longer hold that position's window; evaluate the tokens again");
            }
        }
        for (TokenSequence p : parts) {
            p.truncate(newLength);
        }
        length = newLength;
    }

    /** True when every model's sequence can be rewound to {@code newLength}. */
    @Override
    public boolean canTruncate(int newLength) {
        if (closed || newLength < 0 || newLength > length) {
            return false;
        }
        for (TokenSequence p : parts) {
            if (!p.canTruncate(newLength)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (TokenSequence p : parts) {
            p.close();
        }
        length = 0;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the sequence is closed");
        }
    }

    @Override
    public String toString() {
        return "MixtureSequence[length=" + length + ", parts=" + parts.length + "]";
    }
}
