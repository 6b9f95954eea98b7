package dev.rewind.models;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The small rules of the newer families: which layers slide, where a window starts, how experts are routed. */
class FamilyUnitsTest {

    @Test
    void gemma2SlidesOnEvenLayersAndGemma3OnFiveOfEverySix() {
        TransformerConfig.Attention gemma2 = new TransformerConfig.Attention(0.125f, 50f, 4096, 2, null);
        TransformerConfig.Attention gemma3 = new TransformerConfig.Attention(0.125f, 0f, 1024, 6, null);
        TransformerConfig.Attention every = new TransformerConfig.Attention(0.125f, 0f, 2047, 1, null);
        for (int l = 0; l < 26; l++) {
            assertEquals(l % 2 == 0, gemma2.isSliding(l), "gemma2 layer " + l);
            assertEquals(l % 6 != 5, gemma3.isSliding(l), "gemma3 layer " + l);
            assertTrue(every.isSliding(l));
            assertFalse(TransformerConfig.Attention.standard(64).isSliding(l));
        }
    }

    @Test
    void aWindowOfEightShowsTheLastEightPositions() {
        TransformerConfig.Attention a = new TransformerConfig.Attention(0.125f, 0f, 8, 2, null);
        assertEquals(0, a.firstVisible(0, 0));
        assertEquals(0, a.firstVisible(0, 7));
        assertEquals(1, a.firstVisible(0, 8));
        assertEquals(92, a.firstVisible(0, 99));
        assertEquals(0, a.firstVisible(1, 99), "a global layer sees everything");
    }

    @Test
    void routingTakesTheLargestLogitsWithSoftmaxWeightsOverThem() {
        float[] logits = {0.5f, 2f, -1f, 1.5f, 2f};
        int[] chosen = new int[2];
        float[] weights = new float[2];
        float margin = MoeRouting.topK(logits, 0, 5, 2, chosen, weights, 0);
        assertArrayEquals(new int[] {1, 4}, chosen, "ties go to the lower index");
        assertEquals(0.5f, weights[0], 1e-7);
        assertEquals(0.5f, weights[1], 1e-7);
        assertEquals(0.5f, margin, 0f);
    }

    @Test
    void routingWeightsAreTheSoftmaxRenormalisedOverTheChosen() {
        SplittableRandom r = new SplittableRandom(5);
        for (int trial = 0; trial < 200; trial++) {
            int n = 2 + r.nextInt(10);
            int k = 1 + r.nextInt(n);
            float[] logits = new float[n + 3];
            for (int i = 0; i < logits.length; i++) {
                logits[i] = (float) (r.nextGaussian() * 3);
            }
            int[] chosen = new int[k + 1];
            float[] weights = new float[k + 1];
            MoeRouting.topK(logits, 3, n, k, chosen, weights, 1);
            // reference: sort by logit (descending, lower index first), softmax over all, renormalise
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            java.util.Arrays.sort(order, (x, y) -> logits[3 + y] != logits[3 + x] ? Float.compare(logits[3 + y], logits[3 + x]) : x - y);
            double total = 0;
            for (int i = 0; i < n; i++) {
                total += Math.exp(logits[3 + i]);
            }
            double chosenTotal = 0;
            for (int j = 0; j < k; j++) {
                chosenTotal += Math.exp(logits[3 + order[j]]) / total;
            }
            for (int j = 0; j < k; j++) {
                assertEquals(order[j], chosen[1 + j]);
                assertEquals(Math.exp(logits[3 + order[j]]) / total / chosenTotal, weights[1 + j], 1e-6);
            }
        }
    }
}
