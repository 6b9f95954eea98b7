package dev.rewind.models.bert;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufMetadata;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.tensor.WeightMatrix;
import dev.rewind.models.ModelFormatException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a BERT encoder from a GGUF file of llama.cpp's {@code bert} architecture: the {@code bert.*}
 * hyper-parameters and llama.cpp's tensor names ({@code token_embd}, {@code position_embd},
 * {@code token_types}, {@code token_embd_norm}, and per block {@code attn_q/k/v/output},
 * {@code attn_output_norm}, {@code ffn_up}, {@code ffn_down}, {@code layer_output_norm}, each matrix with
 * its {@code .bias}). Matrices stay in place in the mapped file, in any type Rewind has kernels for;
 * norms and biases are read into arrays. Every tensor's presence and shape is checked at load, the
 * message naming the file and the tensor.
 */
final class BertGgufLoader {

    private final GgufFile file;

    private BertGgufLoader(GgufFile file) {
        this.file = file;
    }

    /** @throws ModelFormatException naming the key or tensor when the file is not a BERT encoder Rewind runs */
    static BertWeights load(GgufFile file) throws ModelFormatException {
        return new BertGgufLoader(file).weights();
    }

    private BertWeights weights() throws ModelFormatException {
        GgufMetadata m = file.metadata();
        String arch = m.string("general.architecture").orElse("");
        if (!arch.equals("bert")) {
            throw problem("general.architecture is '" + arch + "', not bert (embeddings run BERT encoders)");
        }
        int hidden = integer(m, "bert.embedding_length");
        int layers = integer(m, "bert.block_count");
        int heads = integer(m, "bert.attention.head_count");
        int ffn = integer(m, "bert.feed_forward_length");
        double eps = m.real("bert.attention.layer_norm_epsilon").orElse(1e-12);
        String pooling = "bert.pooling_type";
        if (m.integer(pooling).isPresent() && m.integer(pooling).getAsLong() != 1) {
            throw problem(pooling + " is " + m.integer(pooling).getAsLong() + "; Rewind pools by the mean (1) only");
        }
        GgufTensorInfo words = tensor("token_embd.weight");
        if (words.shape().length != 2 || words.dim(0) != hidden) {
            throw problem("tensor token_embd.weight has shape " + Arrays.toString(words.shape()) + ", expected [" + hidden + ", vocab]");
        }
        int vocab = (int) words.dim(1);
        GgufTensorInfo positions = tensor("position_embd.weight");
        GgufTensorInfo types = tensor("token_types.weight");
        BertConfig config;
        try {
            config = new BertConfig(vocab, hidden, layers, heads, ffn, (int) positions.dim(1), (int) types.dim(1), (float) eps);
        } catch (IllegalArgumentException e) {
            throw problem("bert.* hyper-parameters: " + e.getMessage());
        }
        List<BertWeights.Layer> out = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            out.add(new BertWeights.Layer(linear(p + "attn_q", hidden, hidden), linear(p + "attn_k", hidden, hidden),
                    linear(p + "attn_v", hidden, hidden), linear(p + "attn_output", hidden, hidden),
                    norm(p + "attn_output_norm", hidden), linear(p + "ffn_up", hidden, ffn), linear(p + "ffn_down", ffn, hidden),
                    norm(p + "layer_output_norm", hidden)));
        }
        return new BertWeights(config, matrix(words, hidden, vocab), matrix(positions, hidden, config.maxPositions()),
                matrix(types, hidden, config.tokenTypes()), norm("token_embd_norm", hidden), out);
    }

    private BertWeights.Linear linear(String name, int in, int outputs) throws ModelFormatException {
        return new BertWeights.Linear(matrix(tensor(name + ".weight"), in, outputs), vector(name + ".bias", outputs));
    }

    private BertWeights.Norm norm(String name, int n) throws ModelFormatException {
        return new BertWeights.Norm(vector(name + ".weight", n), vector(name + ".bias", n));
    }

    private float[] vector(String name, int n) throws ModelFormatException {
        GgufTensorInfo t = tensor(name);
        if (t.shape().length != 1 || t.dim(0) != n) {
            throw problem("tensor " + name + " has shape " + Arrays.toString(t.shape()) + ", expected [" + n + "]");
        }
        float[] out = new float[n];
        matrixOf(t, n, 1).dequantizeRow(0, out, 0);
        return out;
    }

    /** A matrix of GGUF shape {@code [cols, rows]} (ne0 the input width). */
    private WeightMatrix matrix(GgufTensorInfo t, int cols, int rows) throws ModelFormatException {
        if (t.shape().length != 2 || t.dim(0) != cols || t.dim(1) != rows) {
            throw problem("tensor " + t.name() + " has shape " + Arrays.toString(t.shape()) + ", expected [" + cols + ", " + rows + "]");
        }
        return matrixOf(t, cols, rows);
    }

    private WeightMatrix matrixOf(GgufTensorInfo t, int cols, int rows) throws ModelFormatException {
        try {
            return WeightMatrix.of(t.name(), t.type(), file.tensorData(t), rows, cols);
        } catch (IllegalArgumentException e) { // UnsupportedTensorTypeException included
            throw problem("tensor " + t.name() + ": " + e.getMessage());
        }
    }

    private GgufTensorInfo tensor(String name) throws ModelFormatException {
        return file.tensor(name).orElseThrow(() -> problem("tensor " + name + " is missing"));
    }

    private int integer(GgufMetadata m, String key) throws ModelFormatException {
        long v = m.integer(key).orElseThrow(() -> problem("metadata key " + key + " is missing"));
        if (v < 1 || v > 1 << 20) {
            throw problem("metadata key " + key + " is " + v);
        }
        return (int) v;
    }

    private ModelFormatException problem(String detail) {
        return new ModelFormatException(file.path(), detail);
    }
}
