package dev.rewind.align.rain;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Embeddings without a model: a fixed random unit vector per distinct text (distinct texts are far from similar). */
final class ScriptedEmbedder implements Embedder {

    private final int dims;
    private final Map<String, float[]> vectors = new HashMap<>();

    ScriptedEmbedder(int dims) {
        this.dims = dims;
    }

    @Override
    public float[] embed(String text) {
        return vectors.computeIfAbsent(text, t -> {
            SplittableRandom r = new SplittableRandom(t.hashCode());
            float[] v = new float[dims];
            double n = 0;
            for (int i = 0; i < dims; i++) {
                v[i] = (float) r.nextGaussian();
                n += v[i] * v[i];
            }
            for (int i = 0; i < dims; i++) {
                v[i] /= (float) Math.sqrt(n);
            }
            return v;
        }).clone();
    }
}
