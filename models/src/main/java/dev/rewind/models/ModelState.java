package dev.rewind.models;

import dev.rewind.engine.kv.ContiguousKvCache;
import dev.rewind.engine.kv.KvCache;
import dev.rewind.engine.parallel.WorkerPool;

/**
 * Everything one sequence needs between forward steps: its KV cache and the activation buffers
 * the forward pass reuses at every step, so a step allocates nothing. Not thread-safe.
 */
public final class ModelState implements AutoCloseable {

    final TransformerConfig config;
    final KvCache cache;
    /** Residual stream. */
    final float[] x;
    /** Normalised input of a sub-layer. */
    final float[] xb;
    /** Attention output (all query heads). */
    final float[] attOut;
    /** Output of a projection back to the residual width. */
    final float[] xb2;
    final float[] q;
    final float[] k;
    final float[] v;
    /** Attention scores, one row of {@code contextLength} per query head. */
    final float[] scores;
    final float[] hb;
    final float[] hb2;
    final float[] logits;
    final float[] cos;
    final float[] sin;
    final double[] ropeFrequencies;
    /** Scratch for fused projections (Phi-3's QKV and gate/up matrices). */
    final float[] fused;

    /** Layer and position of the attention step in flight, read by {@link #attendHeads}. */
    int attentionLayer;
    int attentionPosition;
    /** Attends query heads [from, to): built once so each layer's parallel attention allocates nothing. */
    final WorkerPool.RangeTask attendHeads;

    ModelState(TransformerConfig config, int contextLength) {
        this.config = config;
        this.cache = new ContiguousKvCache(config.layers(), config.kvDim(), contextLength);
        this.x = new float[config.dim()];
        this.xb = new float[config.dim()];
        this.attOut = new float[config.qDim()];
        this.xb2 = new float[config.dim()];
        this.q = new float[config.qDim()];
        this.k = new float[config.kvDim()];
        this.v = new float[config.kvDim()];
        this.scores = new float[config.heads() * contextLength];
        this.hb = new float[config.ffnDim()];
        this.hb2 = new float[config.ffnDim()];
        this.logits = new float[config.vocabularySize()];
        int pairs = config.rope().dimensions() / 2;
        this.cos = new float[pairs];
        this.sin = new float[pairs];
        this.ropeFrequencies = new double[pairs];
        for (int i = 0; i < pairs; i++) {
            ropeFrequencies[i] = config.rope().frequency(i);
        }
        this.fused = new float[Math.max(config.qDim() + 2 * config.kvDim(), 2 * config.ffnDim())];
        this.attendHeads = (from, to) -> {
            for (int h = from; h < to; h++) {
                TransformerOps.attendHead(cache, attentionLayer, attentionPosition, h, h / config.groupSize(),
                        config.headDim(), q, scores, h * contextLength, attOut);
            }
        };
    }

    /** Positions this state can hold. */
    public int capacity() {
        return cache.capacity();
    }

    /** The final hidden state (after the output norm) of the last forward step. */
    public float[] hidden() {
        return x;
    }

    @Override
    public void close() {
        cache.close();
    }
}
