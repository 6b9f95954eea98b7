package dev.rewind.models.bert;

import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the weights of a BERT encoder exported to ONNX (Hugging Face's {@code BertModel} through
 * {@code torch.onnx}/optimum, as in all-MiniLM-L6-v2) by following the graph. Embeddings, biases and
 * LayerNorms keep their PyTorch names; the projection matrices are initializers named only by node
 * ({@code onnx::MatMul_812}) in {@code [in, out]} layout, so each one's role is the name of the bias that
 * the {@code Add} after its {@code MatMul} adds ({@code encoder.layer.3.attention.self.query.bias} makes
 * it layer 3's query). The head count comes from the constant the attention scores are divided by
 * ({@code √head size}), the LayerNorm epsilon from the constant added to the variance, and the activation
 * must be the {@code Erf} form of GELU. Matrices are copied (transposed to one row per output) into
 * off-heap memory of {@code arena}; the file's bytes are not kept.
 */
final class BertOnnxLoader {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final byte[] bytes;
    private final String file;
    private final OnnxGraph graph;
    private final Arena arena;
    private final Map<String, OnnxGraph.Node> producers = new HashMap<>();
    private final Map<String, List<OnnxGraph.Node>> consumers = new HashMap<>();
    private String prefix;

    private BertOnnxLoader(byte[] bytes, String file, Arena arena) throws OnnxGraph.FormatException {
        this.bytes = bytes;
        this.file = file;
        this.graph = OnnxGraph.parse(bytes, file);
        this.arena = arena;
        for (OnnxGraph.Node n : graph.nodes()) {
            for (String out : n.outputs()) {
                producers.put(out, n);
            }
            for (String in : n.inputs()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
    }

    /**
     * The weights in the ONNX file {@code bytes}.
     *
     * @param file the file's name, for messages
     * @throws OnnxGraph.FormatException naming the file and the tensor or node when the graph is not a BERT
     *                                   encoder Rewind can run
     */
    static BertWeights load(byte[] bytes, String file, Arena arena) throws OnnxGraph.FormatException {
        return new BertOnnxLoader(bytes, file, arena).weights();
    }

    private BertWeights weights() throws OnnxGraph.FormatException {
        String wordsName = graph.initializers().keySet().stream()
                .filter(n -> n.endsWith("embeddings.word_embeddings.weight")).findFirst()
                .orElseThrow(() -> problem("no initializer named *embeddings.word_embeddings.weight: not a BERT model"));
        prefix = wordsName.substring(0, wordsName.length() - "embeddings.word_embeddings.weight".length());
        OnnxGraph.Initializer words = named("embeddings.word_embeddings.weight", 2);
        int hidden = dim(words, 1);
        OnnxGraph.Initializer positions = named("embeddings.position_embeddings.weight", 2);
        OnnxGraph.Initializer types = named("embeddings.token_type_embeddings.weight", 2);
        int layers = 0;
        while (graph.initializers().containsKey(prefix + "encoder.layer." + layers + ".attention.self.query.bias")) {
            layers++;
        }
        if (layers == 0) {
            throw problem("no initializer named " + prefix + "encoder.layer.0.attention.self.query.bias");
        }
        Map<String, OnnxGraph.Initializer> matrices = matricesByRole();
        int intermediate = dim(named("encoder.layer.0.intermediate.dense.bias", 1), 0);
        long erfs = graph.nodes().stream().filter(n -> n.opType().equals("Erf")).count();
        if (erfs != layers) {
            throw problem(erfs + " Erf nodes for " + layers + " layers: the activation is not the erf form of GELU"
                    + " (the only one Rewind's BERT runs)");
        }
        BertConfig config;
        try {
            config = new BertConfig(dim(words, 0), hidden, layers, hidden / headSize(hidden), intermediate,
                    dim(positions, 0), dim(types, 0), epsilon(prefix + "embeddings.LayerNorm.weight"));
        } catch (IllegalArgumentException e) { // a zero size or an epsilon outside (0, 1)
            throw problem("the encoder's shape: " + e.getMessage());
        }
        check(positions, config.maxPositions(), hidden);
        check(types, config.tokenTypes(), hidden);
        List<BertWeights.Layer> out = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            String p = "encoder.layer." + l + ".";
            out.add(new BertWeights.Layer(
                    linear(matrices, p + "attention.self.query", hidden, hidden),
                    linear(matrices, p + "attention.self.key", hidden, hidden),
                    linear(matrices, p + "attention.self.value", hidden, hidden),
                    linear(matrices, p + "attention.output.dense", hidden, hidden),
                    norm(p + "attention.output.LayerNorm", hidden, config.layerNormEpsilon()),
                    linear(matrices, p + "intermediate.dense", hidden, intermediate),
                    linear(matrices, p + "output.dense", intermediate, hidden),
                    norm(p + "output.LayerNorm", hidden, config.layerNormEpsilon())));
        }
        return new BertWeights(config, rows(words, config.vocabularySize(), hidden), rows(positions, config.maxPositions(), hidden),
                rows(types, config.tokenTypes(), hidden), norm("embeddings.LayerNorm", hidden, config.layerNormEpsilon()), out);
    }

    /** Each MatMul's weight initializer by the role of the bias added right after it. */
    private Map<String, OnnxGraph.Initializer> matricesByRole() throws OnnxGraph.FormatException {
        Map<String, OnnxGraph.Initializer> out = new HashMap<>();
        for (OnnxGraph.Node n : graph.nodes()) {
            if (!n.opType().equals("MatMul") || n.inputs().size() != 2) {
                continue;
            }
            OnnxGraph.Initializer weight = graph.initializers().get(n.inputs().get(1));
            if (weight == null) {
                continue; // attention's activation × activation products
            }
            String role = null;
            for (OnnxGraph.Node add : consumers.getOrDefault(n.outputs().getFirst(), List.of())) {
                if (!add.opType().equals("Add")) {
                    continue;
                }
                for (String in : add.inputs()) {
                    if (in.startsWith(prefix) && in.endsWith(".bias") && graph.initializers().containsKey(in)) {
                        role = in.substring(prefix.length(), in.length() - ".bias".length());
                    }
                }
            }
            if (role == null) {
                throw problem("node '" + n.name() + "' multiplies by '" + weight.name()
                        + "' but no Add of a named bias follows it, so its role is unknown");
            }
            if (out.putIfAbsent(role, weight) != null) {
                throw problem("two MatMul nodes are followed by the bias of " + role);
            }
        }
        return out;
    }

    /** The head size: the square of the constant the first attention scores are divided by. */
    private int headSize(int hidden) throws OnnxGraph.FormatException {
        OnnxGraph.Node softmax = graph.nodes().stream().filter(n -> n.opType().equals("Softmax")).findFirst()
                .orElseThrow(() -> problem("no Softmax node: not an attention model"));
        OnnxGraph.Node div = upstream(softmax, "Div", 3);
        if (div == null) {
            throw problem("node '" + softmax.name() + "': no Div (by √head size) before the softmax");
        }
        double scale = constant(div.inputs().get(1), div);
        long size = Math.round(scale * scale);
        if (size < 1 || Math.abs(scale * scale - size) > 1e-3 * size || hidden % size != 0) {
            throw problem("node '" + div.name() + "' divides the scores by " + scale
                    + ", which is not the square root of a head size dividing the width " + hidden);
        }
        return (int) size;
    }

    /** The epsilon of the LayerNorm whose scale is {@code weightName}: Mul ← Div ← Sqrt ← Add(variance, ε). */
    private float epsilon(String weightName) throws OnnxGraph.FormatException {
        for (OnnxGraph.Node mul : consumers.getOrDefault(weightName, List.of())) {
            OnnxGraph.Node div = producer(mul.inputs(), "Div");
            OnnxGraph.Node sqrt = div == null ? null : producer(div.inputs(), "Sqrt");
            OnnxGraph.Node add = sqrt == null ? null : producer(sqrt.inputs(), "Add");
            if (add != null) {
                for (String in : add.inputs()) {
                    OnnxGraph.Node c = producers.get(in);
                    if ((c != null && c.opType().equals("Constant")) || graph.initializers().containsKey(in)) {
                        return (float) constant(in, add);
                    }
                }
            }
        }
        for (OnnxGraph.Node ln : consumers.getOrDefault(weightName, List.of())) {
            if (ln.opType().equals("LayerNormalization")) {
                return ln.numbers().getOrDefault("epsilon", 1e-5).floatValue();
            }
        }
        throw problem("cannot find the epsilon of the LayerNorm scaled by '" + weightName + "'");
    }

    private OnnxGraph.Node producer(List<String> inputs, String op) {
        for (String in : inputs) {
            OnnxGraph.Node p = producers.get(in);
            if (p != null && p.opType().equals(op)) {
                return p;
            }
        }
        return null;
    }

    /** The first node of type {@code op} within {@code depth} steps up from {@code from}'s inputs. */
    private OnnxGraph.Node upstream(OnnxGraph.Node from, String op, int depth) {
        if (depth == 0) {
            return null;
        }
        for (String in : from.inputs()) {
            OnnxGraph.Node p = producers.get(in);
            if (p == null) {
                continue;
            }
            if (p.opType().equals(op)) {
                return p;
            }
            OnnxGraph.Node found = upstream(p, op, depth - 1);
            if (found != null) {
                return found;
            }
        }
        return null;
    }

    /** The scalar float value named {@code name}: a Constant node's output or an initializer. */
    private double constant(String name, OnnxGraph.Node user) throws OnnxGraph.FormatException {
        OnnxGraph.Node c = producers.get(name);
        OnnxGraph.Initializer t = c != null && c.opType().equals("Constant") ? c.tensor() : graph.initializers().get(name);
        if (t == null || t.dataType() != OnnxGraph.FLOAT || t.elements() != 1) {
            throw problem("node '" + user.name() + "': input '" + name + "' is not a float constant");
        }
        return MemorySegment.ofArray(bytes).get(F32, t.offset());
    }

    private OnnxGraph.Initializer named(String role, int rank) throws OnnxGraph.FormatException {
        OnnxGraph.Initializer t = graph.initializers().get(prefix + role);
        if (t == null) {
            throw problem("no initializer named " + prefix + role);
        }
        if (t.dataType() != OnnxGraph.FLOAT || t.dims().length != rank) {
            throw problem("initializer " + t.name() + " is not a float tensor of rank " + rank + " (type "
                    + t.dataType() + ", shape " + java.util.Arrays.toString(t.dims()) + ")");
        }
        return t;
    }

    private static int dim(OnnxGraph.Initializer t, int i) {
        return (int) t.dims()[i];
    }

    private void check(OnnxGraph.Initializer t, long... dims) throws OnnxGraph.FormatException {
        if (!java.util.Arrays.equals(t.dims(), dims) || t.dataType() != OnnxGraph.FLOAT) {
            throw problem("initializer " + t.name() + " has shape " + java.util.Arrays.toString(t.dims())
                    + " (type " + t.dataType() + "), expected float " + java.util.Arrays.toString(dims));
        }
    }

    private BertWeights.Linear linear(Map<String, OnnxGraph.Initializer> matrices, String role, int in, int out)
            throws OnnxGraph.FormatException {
        OnnxGraph.Initializer w = matrices.get(role);
        if (w == null) {
            throw problem("no MatMul is followed by the bias " + prefix + role + ".bias");
        }
        check(w, in, out);
        OnnxGraph.Initializer b = named(role + ".bias", 1);
        check(b, out);
        MemorySegment data = arena.allocate((long) in * out * Float.BYTES, 64);
        MemorySegment src = MemorySegment.ofArray(bytes);
        for (int r = 0; r < out; r++) {
            for (int c = 0; c < in; c++) {
                data.setAtIndex(F32, (long) r * in + c, src.get(F32, w.offset() + ((long) c * out + r) * Float.BYTES));
            }
        }
        return new BertWeights.Linear(WeightMatrix.of(role + ".weight (" + w.name() + ")", GgmlType.F32, data, out, in),
                floats(b));
    }

    private BertWeights.Norm norm(String role, int hidden, float epsilon) throws OnnxGraph.FormatException {
        OnnxGraph.Initializer w = named(role + ".weight", 1);
        OnnxGraph.Initializer b = named(role + ".bias", 1);
        check(w, hidden);
        check(b, hidden);
        float own = epsilon(prefix + role + ".weight");
        if (own != epsilon) {
            throw problem(role + " has epsilon " + own + ", the embeddings' LayerNorm " + epsilon
                    + " (Rewind's BERT takes one epsilon)");
        }
        return new BertWeights.Norm(floats(w), floats(b));
    }

    private WeightMatrix rows(OnnxGraph.Initializer t, int rows, int cols) {
        MemorySegment data = arena.allocate((long) rows * cols * Float.BYTES, 64);
        MemorySegment.copy(MemorySegment.ofArray(bytes), t.offset(), data, 0, (long) rows * cols * Float.BYTES);
        return WeightMatrix.of(t.name(), GgmlType.F32, data, rows, cols);
    }

    private float[] floats(OnnxGraph.Initializer t) {
        float[] out = new float[(int) t.elements()];
        MemorySegment.copy(MemorySegment.ofArray(bytes), F32, t.offset(), out, 0, out.length);
        return out;
    }

    private OnnxGraph.FormatException problem(String detail) {
        return new OnnxGraph.FormatException(file + ": " + detail);
    }
}
