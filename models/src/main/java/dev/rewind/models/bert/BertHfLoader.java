package dev.rewind.models.bert;

import dev.rewind.engine.safetensors.SafetensorsFolder;
import dev.rewind.engine.safetensors.SafetensorsTensor;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.tensor.WeightMatrix;
import dev.rewind.models.HfConfig;
import dev.rewind.models.ModelFormatException;
import dev.rewind.tokenizer.JsonCursor;
import dev.rewind.tokenizer.JsonReader;
import dev.rewind.tokenizer.TokenizerException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Reads a BERT encoder from a Hugging Face folder as transformers saves a {@code BertModel} (or a
 * {@code BertFor*} model, whose heads are not read): {@code config.json} ({@code model_type} {@code bert},
 * {@code hidden_size}, {@code num_hidden_layers}, {@code num_attention_heads}, {@code intermediate_size},
 * {@code max_position_embeddings}, {@code type_vocab_size}, {@code layer_norm_eps}, {@code hidden_act}
 * {@code gelu}, {@code position_embedding_type} {@code absolute}) and {@code model.safetensors} or its shards
 * ({@link SafetensorsFolder}). Tensor names are transformers' ({@code embeddings.word_embeddings.weight},
 * {@code encoder.layer.N.attention.self.query.weight}, ...), with or without the {@code bert.} prefix of the
 * task models, and LayerNorms as {@code weight}/{@code bias} or the old {@code gamma}/{@code beta}. Matrices
 * (F32, F16 or BF16; PyTorch's {@code [out, in]} is Rewind's layout) stay in place in the mapped files;
 * vectors are read into arrays. Every tensor's presence, type and shape is checked at load, the message
 * naming the file and the key or tensor.
 */
final class BertHfLoader {

    /** The {@code hidden_act} values that are the erf form of GELU, the activation {@link BertEncoder} computes. */
    private static final List<String> GELU = List.of("gelu");

    private final Path dir;
    private final SafetensorsFolder folder;
    private String prefix = "";

    private BertHfLoader(Path dir, SafetensorsFolder folder) {
        this.dir = dir;
        this.folder = folder;
    }

    /**
     * The weights of the folder {@code dir} whose safetensors {@code folder} is open.
     *
     * @throws IOException naming the file and the key or tensor when the folder is not a BERT encoder Rewind runs
     */
    static BertWeights load(Path dir, SafetensorsFolder folder) throws IOException {
        BertHfLoader loader = new BertHfLoader(dir, folder);
        BertConfig config;
        try {
            config = loader.config();
        } catch (TokenizerException e) { // the JSON cursor's one line, naming config.json and the key
            throw new IOException(e.getMessage(), e);
        }
        return loader.weights(config);
    }

    private BertConfig config() throws IOException {
        Path file = dir.resolve(HfConfig.FILE);
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(dir, "a folder without " + HfConfig.FILE);
        }
        String name = file.toString();
        JsonCursor c = JsonCursor.root(JsonReader.parse(JsonReader.readUtf8(file, name, 1 << 20), name), name);
        JsonCursor typeAt = c.get("model_type");
        if (!typeAt.string().equals("bert")) {
            throw typeAt.error("'" + typeAt.string() + "' is not bert (embeddings run BERT encoders from Hugging Face folders)");
        }
        Optional<JsonCursor> architectures = c.find("architectures");
        if (architectures.isPresent()) {
            for (JsonCursor a : architectures.get().elements()) {
                if (!a.string().startsWith("Bert")) {
                    throw a.error("'" + a.string() + "' is not a BERT class (BertModel, BertForMaskedLM, ...)");
                }
            }
        }
        String act = c.optString("hidden_act").orElse("gelu");
        if (!GELU.contains(act)) {
            throw c.get("hidden_act").error("'" + act + "' is not gelu, the erf form of GELU Rewind's BERT computes");
        }
        String positions = c.optString("position_embedding_type").orElse("absolute");
        if (!positions.equals("absolute")) {
            throw c.get("position_embedding_type").error("'" + positions + "' is not absolute, the only position"
                    + " embedding Rewind's BERT computes");
        }
        if (c.bool("is_decoder", false)) {
            throw c.get("is_decoder").error("a decoder BERT (causal attention) is not a sentence encoder");
        }
        int hidden = c.get("hidden_size").integer(1, 1 << 16);
        int heads = c.get("num_attention_heads").integer(1, 1 << 12);
        if (hidden % heads != 0) {
            throw c.get("num_attention_heads").error(heads + " does not divide hidden_size " + hidden);
        }
        double epsilon = c.find("layer_norm_eps").map(JsonCursor::number).orElse(1e-12);
        if (!(epsilon > 0 && epsilon < 1)) {
            throw c.get("layer_norm_eps").error(epsilon + " is not in (0, 1)");
        }
        return new BertConfig(c.get("vocab_size").integer(1, 1 << 24), hidden, c.get("num_hidden_layers").integer(1, 1 << 10),
                heads, c.get("intermediate_size").integer(1, 1 << 18), c.get("max_position_embeddings").integer(2, 1 << 20),
                c.find("type_vocab_size").map(t -> t.integer(1, 1 << 10)).orElse(2), (float) epsilon);
    }

    private BertWeights weights(BertConfig c) throws IOException {
        String words = "embeddings.word_embeddings.weight";
        if (folder.tensor("bert." + words).isPresent()) {
            prefix = "bert.";
        } else if (folder.tensor(words).isEmpty()) {
            throw problem("tensor " + words + " (or bert." + words + ") is missing");
        }
        if (folder.tensor(prefix + "encoder.layer." + c.layers() + ".attention.self.query.weight").isPresent()) {
            throw problem("tensor " + prefix + "encoder.layer." + c.layers() + ".attention.self.query.weight is beyond the "
                    + c.layers() + " layers of config.json's num_hidden_layers");
        }
        int h = c.hidden();
        List<BertWeights.Layer> layers = new ArrayList<>();
        for (int l = 0; l < c.layers(); l++) {
            String p = "encoder.layer." + l + ".";
            layers.add(new BertWeights.Layer(linear(p + "attention.self.query", h, h), linear(p + "attention.self.key", h, h),
                    linear(p + "attention.self.value", h, h), linear(p + "attention.output.dense", h, h),
                    norm(p + "attention.output.LayerNorm", h), linear(p + "intermediate.dense", h, c.intermediate()),
                    linear(p + "output.dense", c.intermediate(), h), norm(p + "output.LayerNorm", h)));
        }
        return new BertWeights(c, matrix(words, c.vocabularySize(), h), matrix("embeddings.position_embeddings.weight", c.maxPositions(), h),
                matrix("embeddings.token_type_embeddings.weight", c.tokenTypes(), h), norm("embeddings.LayerNorm", h), layers);
    }

    private BertWeights.Linear linear(String name, int in, int out) throws IOException {
        return new BertWeights.Linear(matrix(name + ".weight", out, in), vector(name + ".bias", out));
    }

    /** A LayerNorm as {@code weight}/{@code bias}, or as TensorFlow-era checkpoints name them, {@code gamma}/{@code beta}. */
    private BertWeights.Norm norm(String name, int n) throws IOException {
        boolean old = folder.tensor(prefix + name + ".weight").isEmpty() && folder.tensor(prefix + name + ".gamma").isPresent();
        return new BertWeights.Norm(vector(name + (old ? ".gamma" : ".weight"), n), vector(name + (old ? ".beta" : ".bias"), n));
    }

    private float[] vector(String name, int n) throws IOException {
        SafetensorsTensor t = tensor(name, n);
        float[] out = new float[n];
        WeightMatrix.of(t.name(), type(t), folder.tensorData(t), 1, n).dequantizeRow(0, out, 0);
        return out;
    }

    /** A matrix of PyTorch shape {@code [rows, cols]}: one row per output, as Rewind's matrices are. */
    private WeightMatrix matrix(String name, int rows, int cols) throws IOException {
        SafetensorsTensor t = tensor(name, rows, cols);
        return WeightMatrix.of(t.name(), type(t), folder.tensorData(t), rows, cols);
    }

    private SafetensorsTensor tensor(String name, long... shape) throws IOException {
        SafetensorsTensor t = folder.tensor(prefix + name)
                .orElseThrow(() -> problem("tensor " + prefix + name + " is missing"));
        if (!Arrays.equals(t.shape(), shape)) {
            throw new ModelFormatException(folder.tensorPath(t), "tensor " + t.name() + " has shape " + Arrays.toString(t.shape())
                    + ", expected " + Arrays.toString(shape) + " (from config.json)");
        }
        return t;
    }

    private GgmlType type(SafetensorsTensor t) throws IOException {
        return t.dtype().ggmlType().orElseThrow(() -> new ModelFormatException(folder.tensorPath(t), "tensor " + t.name()
                + " is " + t.dtype() + "; Rewind's BERT reads F32, F16 and BF16"));
    }

    /** A problem with the folder's tensors as a whole: named by the index when sharded, else by the single file. */
    private ModelFormatException problem(String detail) {
        Path index = dir.resolve(SafetensorsFolder.INDEX);
        return new ModelFormatException(Files.isRegularFile(index) ? index : dir.resolve(SafetensorsFolder.SINGLE), detail);
    }
}
