package dev.rewind.models;

import dev.rewind.engine.gguf.GgufValue;
import dev.rewind.engine.gguf.GgufValueType;
import dev.rewind.engine.gguf.GgufWriter;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.tensor.Quantizer;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.LongConsumer;
import java.util.stream.Collectors;

/**
 * Writes GGUF files of the {@code llama} architecture, or of another of {@link #ARCHITECTURES},
 * with random weights, in the shape of a real model (or a tiny one for tests), so that speed can be
 * measured and the loader exercised without downloading anything. The {@code llama} files load in
 * Rewind and in llama.cpp; the other families follow llama.cpp's tensor names and keys and load in
 * Rewind (the local llama.cpp build, b4747, predates qwen3 and gemma3, and they were not run there).
 *
 * <p>What a file holds:
 * <ul>
 *   <li>Every 2-D weight in the requested type, quantized from float32 draws of N(0, σ) with
 *       {@code σ = 1/√cols} (cols = the matrix's input width, ggml's ne0), so that a matrix-vector
 *       product keeps unit-RMS inputs at unit scale whatever the shape; the quantization is
 *       byte-identical to llama.cpp's (see {@link Quantizer}).</li>
 *   <li>RMSNorm weights of 1.0, in F32 (as llama.cpp keeps them).</li>
 *   <li>A separate {@code output.weight} unless the shape's {@link Shape#tiedOutput} says the
 *       output matrix is the token embedding.</li>
 *   <li>The metadata {@link ModelLoader} reads (and llama.cpp needs): the {@code llama.*}
 *       hyper-parameters, {@code general.file_type} numbered as llama.cpp's {@code llama_ftype}.</li>
 *   <li>A byte-level SentencePiece vocabulary ({@code tokenizer.ggml.model = llama}): {@code <unk>}
 *       (0, UNKNOWN), {@code <s>} (1, CONTROL, BOS), {@code </s>} (2, CONTROL, EOS), the 256 byte
 *       tokens {@code <0x00>}…{@code <0xFF>} (BYTE), the space piece {@code ▁} (NORMAL), then filler
 *       pieces {@code ▁t<id>} (NORMAL) up to the shape's vocabulary size; NORMAL tokens score −id. Every
 *       text tokenizes (spaces to {@code ▁}, all else through the byte tokens) and decodes back
 *       unchanged; the fillers only give the embedding its rows.</li>
 * </ul>
 *
 * <p>Deterministic: the same shape, type and seed give the same bytes, whatever the number of
 * threads, because every row of every tensor draws from its own generator seeded from the seed,
 * the tensor's name and the row index. Rows are generated and quantized as the file is written, so
 * memory holds at most one tensor's stored bytes (see {@link GgufWriter.TensorSource}), never a
 * model's worth of floats.
 */
public final class SyntheticModel {

    /**
     * The architectures this class writes (what {@code rewind synth --arch} takes): {@code llama};
     * {@code mixtral} (a {@code llama} file with {@value #EXPERTS} experts of the shape's feed-forward
     * width, {@value #EXPERTS_USED} used a token, the router {@code ffn_gate_inp} in F32 as
     * llama-quantize leaves it); {@code qwen3} (per-head q/k norms, no biases); {@code gemma2}
     * (post-attention and post-feed-forward norms, soft-caps 50 and 30, a window of 4096 on even
     * layers, tied output); {@code gemma3} (gemma2's norms and q/k norms, a window of 512 on five layers
     * of six, local rope base 10000, tied output); {@code phi3} (fused QKV and gate/up matrices and
     * Phi-3.5's LongRoPE: {@code rope_factors_short/long} of smooth synthetic factors, original context
     * 4096, the attention factor of that ratio).
     */
    public static final List<String> ARCHITECTURES = List.of("llama", "mixtral", "qwen3", "gemma2", "gemma3", "phi3");

    /** Experts of a synthetic {@code mixtral} layer. */
    public static final int EXPERTS = 8;
    /** Experts each token of a synthetic {@code mixtral} layer uses (Mixtral 8x7B's). */
    public static final int EXPERTS_USED = 2;
    /** The sliding window of synthetic {@code gemma2} files (Gemma 2's) and of {@code gemma3} files (Gemma 3 1B's). */
    static final int GEMMA2_WINDOW = 4096;
    static final int GEMMA3_WINDOW = 512;
    /** The trained context a synthetic {@code phi3} file's LongRoPE factors extend (Phi-3.5-mini's). */
    static final int PHI3_ORIGINAL_CONTEXT = 4096;

    /** The weight types it writes: those {@link Quantizer} writes. */
    public static final List<GgmlType> TYPES = Quantizer.TYPES;

    /**
     * The dimensions of a {@code llama} model.
     *
     * @param name          what {@code --shape} calls it
     * @param dim           embedding width
     * @param layers        transformer blocks
     * @param heads         query heads; must divide {@code dim}
     * @param kvHeads       key/value heads; must divide {@code heads}
     * @param headDim       values per attention head ({@code dim / heads} unless a family says otherwise)
     * @param ffnDim        feed-forward hidden width
     * @param vocab         vocabulary size (embedding rows); at least {@link #MIN_VOCAB}
     * @param contextLength trained context length ({@code llama.context_length})
     * @param ropeBase      rotary embedding base ({@code llama.rope.freq_base})
     * @param rmsEps        RMSNorm epsilon
     * @param tiedOutput    whether the output matrix is the token embedding (no {@code output.weight})
     */
    public record Shape(String name, int dim, int layers, int heads, int kvHeads, int headDim, int ffnDim, int vocab,
                        int contextLength, double ropeBase, float rmsEps, boolean tiedOutput) {

        /** The tokens every synthetic vocabulary starts with: 3 special, 256 bytes and {@code ▁}. */
        public static final int MIN_VOCAB = 3 + 256 + 1;

        /**
         * @throws IllegalArgumentException if a size is not positive, the heads do not divide the
         *                                  width or each other, a row is not a whole number of
         *                                  32-weight blocks, or the vocabulary is too small (the
         *                                  256-weight types need multiples of 256, checked when a
         *                                  file of such a type is written)
         */
        public Shape {
            Objects.requireNonNull(name, "name");
            if (dim < 1 || layers < 1 || heads < 1 || kvHeads < 1 || ffnDim < 1 || contextLength < 1) {
                throw new IllegalArgumentException("shape " + name + ": sizes must be positive");
            }
            if (headDim < 1 || heads % kvHeads != 0) {
                throw new IllegalArgumentException("shape " + name + ": heads (" + heads + ") must divide dim (" + dim
                        + ") or a head size be given, and kvHeads (" + kvHeads + ") must divide heads");
            }
            if (headDim % 2 != 0) {
                throw new IllegalArgumentException("shape " + name + ": the head size " + headDim + " must be even (rope pairs)");
            }
            if (dim % 32 != 0 || ffnDim % 32 != 0) {
                throw new IllegalArgumentException("shape " + name + ": dim and ffnDim must be multiples of 32 (the smallest block size)");
            }
            if (vocab < MIN_VOCAB) {
                throw new IllegalArgumentException("shape " + name + ": vocab must be at least " + MIN_VOCAB + ", got " + vocab);
            }
            if (!(ropeBase > 0) || !(rmsEps > 0)) {
                throw new IllegalArgumentException("shape " + name + ": ropeBase and rmsEps must be positive");
            }
        }

        /** A shape whose heads are {@code dim / heads} wide. */
        public Shape(String name, int dim, int layers, int heads, int kvHeads, int ffnDim, int vocab,
                     int contextLength, double ropeBase, float rmsEps, boolean tiedOutput) {
            this(name, dim, layers, heads, kvHeads, heads > 0 && dim % heads == 0 ? dim / heads : -1, ffnDim, vocab,
                    contextLength, ropeBase, rmsEps, tiedOutput);
        }

        /** Width of the query projection. */
        public int qDim() {
            return heads * headDim;
        }

        /** Width of the key and value projections. */
        public int kvDim() {
            return kvHeads * headDim;
        }

        /** Number of weights of a {@code llama} file (norms included), counting a tied embedding once. */
        public long parameters() {
            return SyntheticModel.parameters("llama", this);
        }
    }

    /** 256 wide, 2 layers, 8 query and 2 KV heads, ffn 512, vocab 512: the shape of the shared tiny-llama files. */
    public static final Shape TINY = new Shape("tiny", 256, 2, 8, 2, 512, 512, 512, 10000.0, 1e-5f, false);

    /** Llama-3.2-1B: 2048 wide, 16 layers, 32 query and 8 KV heads, ffn 8192, vocab 128256, tied output. */
    public static final Shape LLAMA_1B = new Shape("llama-1b", 2048, 16, 32, 8, 8192, 128256, 131072, 500000.0, 1e-5f, true);

    /** Llama-3.1-8B: 4096 wide, 32 layers, 32 query and 8 KV heads, ffn 14336, vocab 128256, separate output. */
    public static final Shape LLAMA_8B = new Shape("llama-8b", 4096, 32, 32, 8, 14336, 128256, 131072, 500000.0, 1e-5f, false);

    /** Qwen3-0.6B: 1024 wide, 28 layers, 16 query and 8 KV heads of 128, ffn 3072, vocab 151936, tied output. */
    public static final Shape QWEN3_0_6B = new Shape("qwen3-0.6b", 1024, 28, 16, 8, 128, 3072, 151936, 40960, 1e6, 1e-6f, true);

    /** Gemma-3-1B: 1152 wide, 26 layers, 4 query heads and 1 KV head of 256, ffn 6912, vocab 262144. */
    public static final Shape GEMMA3_1B = new Shape("gemma3-1b", 1152, 26, 4, 1, 256, 6912, 262144, 32768, 1e6, 1e-6f, true);

    /** Gemma-2-2B: 2304 wide, 26 layers, 8 query and 4 KV heads of 256, ffn 9216, vocab 256000. */
    public static final Shape GEMMA2_2B = new Shape("gemma2-2b", 2304, 26, 8, 4, 256, 9216, 256000, 8192, 10000.0, 1e-6f, true);

    /** Phi-3.5-mini: 3072 wide, 32 layers, 32 query and KV heads, ffn 8192, vocab 32064, 128k context, separate output. */
    public static final Shape PHI3_5_MINI = new Shape("phi3.5-mini", 3072, 32, 32, 32, 8192, 32064, 131072, 10000.0, 1e-5f, false);

    /** Every named shape, smallest first among those of one family. */
    public static final List<Shape> SHAPES = List.of(TINY, LLAMA_1B, LLAMA_8B, QWEN3_0_6B, GEMMA3_1B, GEMMA2_2B, PHI3_5_MINI);

    /** Bytes of output generated between two progress reports (and the unit of parallel work). */
    private static final long BATCH_BYTES = 16L << 20;

    /** SentencePiece's space, a token of its own so that spaces decode as spaces (not as its UTF-8 bytes). */
    private static final String SPACE = "\u2581";
    private static final int SPACE_ID = 3 + 256;

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private SyntheticModel() {
    }

    /** The named shape, if there is one. */
    public static Optional<Shape> shape(String name) {
        return SHAPES.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    /** The names of {@link #SHAPES}, comma-separated, for messages. */
    public static String shapeNames() {
        return SHAPES.stream().map(Shape::name).collect(Collectors.joining(", "));
    }

    /**
     * llama.cpp's {@code general.file_type} ({@code llama_ftype}) for a model whose weights are all
     * of {@code type}: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q4_0 2, MOSTLY_Q4_1 3, MOSTLY_Q8_0 7,
     * MOSTLY_Q5_0 8, MOSTLY_Q5_1 9, MOSTLY_Q2_K 10, MOSTLY_Q6_K 18, MOSTLY_IQ4_NL 25,
     * MOSTLY_IQ4_XS 30, MOSTLY_BF16 32; and for Q3_K, Q4_K and Q5_K the numbers
     * {@code llama-quantize} records when asked for those type names (with {@code --pure}, every
     * weight of that type): MOSTLY_Q3_K_M 12, MOSTLY_Q4_K_M 15, MOSTLY_Q5_K_M 17.
     *
     * @throws IllegalArgumentException for a type not in {@link #TYPES}
     */
    public static int fileType(GgmlType type) {
        return switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case Q5_0 -> 8;
            case Q5_1 -> 9;
            case Q2_K -> 10;
            case Q3_K -> 12;
            case Q4_K -> 15;
            case Q5_K -> 17;
            case Q6_K -> 18;
            case IQ4_NL -> 25;
            case IQ4_XS -> 30;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("no synthetic models of type " + type + " (supported: "
                    + Quantizer.TYPES_TEXT + ")");
        };
    }

    /**
     * Which type each weight matrix of a synthetic file gets: {@code base} for most, {@code output}
     * for the output matrix (the token embedding when the output is tied), and {@code moreBits} for
     * the {@code attn_v} and {@code ffn_down} matrices of the layers llama-quantize's k-quant
     * mixtures give more bits (the first and last eighth of the layers and every third layer
     * between). Norm weights stay F32.
     *
     * @param name     how the file's weights are described to users, e.g. {@code Q4_K_M}
     * @param fileType the file's {@code general.file_type}
     */
    public record Recipe(String name, GgmlType base, GgmlType output, GgmlType moreBits, int fileType) {

        /** @throws IllegalArgumentException if a type has no quantizer */
        public Recipe {
            Objects.requireNonNull(name, "name");
            for (GgmlType t : List.of(base, output, moreBits)) {
                SyntheticModel.fileType(t);
            }
        }

        /** Every weight matrix of {@code type}, as {@code llama-quantize --pure} writes. */
        public static Recipe pure(GgmlType type) {
            return new Recipe(type.name(), type, type, type, SyntheticModel.fileType(type));
        }

        /**
         * Every weight of {@code type} but the output matrix, of {@code output}: what
         * {@code llama-quantize} writes without {@code --pure} for a single type (Q4_0, Q8_0, ...
         * keep the output matrix, or the tied embedding, in Q6_K).
         */
        public static Recipe withOutput(GgmlType type, GgmlType output) {
            return new Recipe(type + " (output " + output + ")", type, output, type, SyntheticModel.fileType(type));
        }

        /** llama-quantize's Q4_K_M mixture for a dense llama: Q4_K, with Q6_K output and Q6_K attn_v/ffn_down in the layers that get more bits. */
        public static final Recipe Q4_K_M = new Recipe("Q4_K_M", GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q6_K, 15);

        /** llama-quantize's Q5_K_M mixture: Q5_K, with Q6_K where Q4_K_M has it. */
        public static final Recipe Q5_K_M = new Recipe("Q5_K_M", GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q6_K, 17);

        /** The mixtures by name. */
        public static final List<Recipe> MIXTURES = List.of(Q4_K_M, Q5_K_M);

        /** The type of matrix {@code tensor} ({@code blk.L.attn_v.weight}, {@code output.weight}, ...) in a model of {@code layers} layers. */
        GgmlType typeOf(String tensor, boolean tiedOutput, int layers) {
            if (tensor.equals("output.weight") || (tiedOutput && tensor.equals("token_embd.weight"))) {
                return output;
            }
            if (tensor.startsWith("blk.") && (tensor.endsWith(".attn_v.weight") || tensor.endsWith(".ffn_down.weight")
                    || tensor.endsWith(".ffn_down_exps.weight"))) {
                int layer = Integer.parseInt(tensor.substring(4, tensor.indexOf('.', 4)));
                if (layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2) {
                    return moreBits;
                }
            }
            return base;
        }
    }

    /**
     * Writes the model atomically to {@code path} (a temporary file in the same folder, renamed
     * into place when complete).
     *
     * @param seed      seeds every weight; the same arguments give the same bytes
     * @param pool      threads that generate and quantize rows
     * @param bytesDone told the running total of tensor bytes generated, on the calling thread,
     *                  every few MiB (the total is {@link #tensorBytes})
     * @throws IllegalArgumentException if {@code type} is not one of {@link #TYPES}
     * @throws IOException              if writing fails; {@code path} is then left as it was
     */
    public static void write(Path path, Shape shape, GgmlType type, long seed, WorkerPool pool, LongConsumer bytesDone)
            throws IOException {
        write(path, shape, Recipe.pure(type), seed, pool, bytesDone);
    }

    /** {@link #write(Path, Shape, GgmlType, long, WorkerPool, LongConsumer)} with each matrix's type from {@code recipe}. */
    public static void write(Path path, Shape shape, Recipe recipe, long seed, WorkerPool pool, LongConsumer bytesDone)
            throws IOException {
        write(path, "llama", shape, recipe, seed, pool, bytesDone);
    }

    /**
     * A model of {@code arch}, one of {@link #ARCHITECTURES}, with the shape's dimensions.
     *
     * @throws IllegalArgumentException if {@code arch} is not one of {@link #ARCHITECTURES}, or the
     *                                  shape and types do not fit together
     */
    public static void write(Path path, String arch, Shape shape, Recipe recipe, long seed, WorkerPool pool, LongConsumer bytesDone)
            throws IOException {
        writer(arch, shape, recipe, seed, pool, bytesDone).write(path);
    }

    /** The bytes of tensor data {@link #write} generates: the file size minus the header and padding. */
    public static long tensorBytes(Shape shape, GgmlType type) {
        return tensorBytes(shape, Recipe.pure(type));
    }

    /** The bytes of tensor data a file of {@code recipe} holds. */
    public static long tensorBytes(Shape shape, Recipe recipe) {
        return tensorBytes("llama", shape, recipe);
    }

    /** The bytes of tensor data a file of {@code arch} and {@code recipe} holds. */
    public static long tensorBytes(String arch, Shape shape, Recipe recipe) {
        return tensors(arch, shape, recipe).stream().mapToLong(t -> t.bytes()).sum();
    }

    /** The weights (norms and rope factors included, a tied embedding once) of a file of {@code arch} in {@code shape}. */
    public static long parameters(String arch, Shape shape) {
        return tensors(arch, shape, Recipe.pure(GgmlType.F32)).stream().mapToLong(t -> t.bytes() / 4).sum();
    }

    /**
     * A {@link GgufWriter} holding the model's metadata and tensor sources, for callers that want to
     * add to it before writing; {@link #write} is this plus {@link GgufWriter#write}.
     *
     * @see #write
     */
    public static GgufWriter writer(Shape shape, GgmlType type, long seed, WorkerPool pool, LongConsumer bytesDone) {
        return writer(shape, Recipe.pure(type), seed, pool, bytesDone);
    }

    /** {@link #writer(Shape, GgmlType, long, WorkerPool, LongConsumer)} with each matrix's type from {@code recipe}. */
    public static GgufWriter writer(Shape shape, Recipe recipe, long seed, WorkerPool pool, LongConsumer bytesDone) {
        return writer("llama", shape, recipe, seed, pool, bytesDone);
    }

    /** {@link #writer(Shape, Recipe, long, WorkerPool, LongConsumer)} for one of the {@link #ARCHITECTURES}. */
    public static GgufWriter writer(String arch, Shape shape, Recipe recipe, long seed, WorkerPool pool, LongConsumer bytesDone) {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(recipe, "recipe");
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(bytesDone, "bytesDone");
        List<TensorSpec> specs = tensors(arch, shape, recipe);
        GgufWriter w = GgufWriter.create();
        metadata(w, arch, shape, recipe, seed);
        long before = 0; // tensor bytes ahead of this one: progress is reported as before + done within it
        for (TensorSpec t : specs) {
            long offset = before;
            if (t.norm()) {
                float[] values = t.values();
                w.tensor(t.name(), GgmlType.F32, new long[]{t.cols()}, target -> {
                    for (int i = 0; i < t.cols(); i++) {
                        target.setAtIndex(F32_LE, i, values == null ? 1f : values[i]);
                    }
                    bytesDone.accept(offset + t.bytes());
                });
            } else {
                long tensorSeed = mix(seed ^ mix(t.name().hashCode()));
                GgmlType type = t.type();
                long[] dims = t.experts() > 0 ? new long[]{t.cols(), t.rows(), t.experts()} : new long[]{t.cols(), t.rows()};
                int allRows = t.rows() * Math.max(1, t.experts()); // an expert tensor is its experts' matrices one after another
                w.tensor(t.name(), type, dims,
                        target -> fillRandom(target, type, allRows, t.cols(), tensorSeed, pool, done -> bytesDone.accept(offset + done)));
            }
            before += t.bytes();
        }
        return w;
    }

    /**
     * One tensor of the file: a vector ({@code rows == 1}, F32: a norm of ones, or {@code values}), a
     * weight matrix, or {@code experts} matrices of one shape (3-D).
     */
    private record TensorSpec(String name, int rows, int cols, int experts, boolean norm, GgmlType type, long bytes, float[] values) {
        static TensorSpec norm(String name, int width) {
            return new TensorSpec(name, 1, width, 0, true, GgmlType.F32, 4L * width, null);
        }

        static TensorSpec vector(String name, float[] values) {
            return new TensorSpec(name, 1, values.length, 0, true, GgmlType.F32, 4L * values.length, values);
        }
    }

    /** The tensors in the order llama.cpp's converter writes them. */
    private static List<TensorSpec> tensors(String arch, Shape s, Recipe recipe) {
        if (!ARCHITECTURES.contains(arch)) {
            throw new IllegalArgumentException("no synthetic models of architecture " + arch + " (supported: "
                    + String.join(", ", ARCHITECTURES) + ")");
        }
        for (GgmlType type : List.of(recipe.base(), recipe.output(), recipe.moreBits())) {
            for (int cols : new int[]{s.dim(), s.ffnDim(), s.qDim()}) {
                if (cols % type.blockSize() != 0) {
                    throw new IllegalArgumentException("shape " + s.name() + ": dim (" + s.dim() + "), ffnDim (" + s.ffnDim()
                            + ") and heads × head size (" + s.qDim() + ") must be multiples of " + type + "'s block size "
                            + type.blockSize() + " (every matrix row is whole blocks)");
                }
            }
        }
        boolean gemma = arch.startsWith("gemma");
        boolean qkNorm = arch.equals("qwen3") || arch.equals("gemma3");
        boolean tied = s.tiedOutput() || gemma; // Gemma files never have output.weight
        List<TensorSpec> list = new ArrayList<>();
        java.util.function.BiFunction<String, int[], TensorSpec> matrix = (name, shape) -> {
            GgmlType type = recipe.typeOf(name, tied, s.layers());
            int experts = shape.length > 2 ? shape[2] : 0;
            return new TensorSpec(name, shape[0], shape[1], experts, false, type,
                    Quantizer.bytes(type, (long) shape[0] * shape[1] * Math.max(1, experts)), null);
        };
        list.add(matrix.apply("token_embd.weight", new int[]{s.vocab(), s.dim()}));
        if (arch.equals("phi3")) {
            int pairs = s.headDim() / 2;
            float[] shortFactors = new float[pairs];
            float[] longFactors = new float[pairs];
            for (int i = 0; i < pairs; i++) { // smooth, rising with the wavelength, as Phi-3.5's are
                double x = pairs == 1 ? 1 : (double) i / (pairs - 1);
                shortFactors[i] = (float) (1 + 0.1 * x);
                longFactors[i] = (float) (1 + 31 * x * x);
            }
            list.add(TensorSpec.vector("rope_factors_long.weight", longFactors));
            list.add(TensorSpec.vector("rope_factors_short.weight", shortFactors));
        }
        for (int l = 0; l < s.layers(); l++) {
            String p = "blk." + l + ".";
            list.add(TensorSpec.norm(p + "attn_norm.weight", s.dim()));
            if (arch.equals("phi3")) {
                list.add(matrix.apply(p + "attn_qkv.weight", new int[]{s.qDim() + 2 * s.kvDim(), s.dim()}));
            } else {
                list.add(matrix.apply(p + "attn_q.weight", new int[]{s.qDim(), s.dim()}));
                if (qkNorm) {
                    list.add(TensorSpec.norm(p + "attn_q_norm.weight", s.headDim()));
                }
                list.add(matrix.apply(p + "attn_k.weight", new int[]{s.kvDim(), s.dim()}));
                if (qkNorm) {
                    list.add(TensorSpec.norm(p + "attn_k_norm.weight", s.headDim()));
                }
                list.add(matrix.apply(p + "attn_v.weight", new int[]{s.kvDim(), s.dim()}));
            }
            list.add(matrix.apply(p + "attn_output.weight", new int[]{s.dim(), s.qDim()}));
            if (gemma) {
                list.add(TensorSpec.norm(p + "post_attention_norm.weight", s.dim()));
            }
            list.add(TensorSpec.norm(p + "ffn_norm.weight", s.dim()));
            switch (arch) {
                case "mixtral" -> {
                    // the router stays F32 whatever the recipe, as llama-quantize leaves it
                    list.add(new TensorSpec(p + "ffn_gate_inp.weight", EXPERTS, s.dim(), 0, false, GgmlType.F32,
                            4L * EXPERTS * s.dim(), null));
                    list.add(matrix.apply(p + "ffn_gate_exps.weight", new int[]{s.ffnDim(), s.dim(), EXPERTS}));
                    list.add(matrix.apply(p + "ffn_up_exps.weight", new int[]{s.ffnDim(), s.dim(), EXPERTS}));
                    list.add(matrix.apply(p + "ffn_down_exps.weight", new int[]{s.dim(), s.ffnDim(), EXPERTS}));
                }
                case "phi3" -> {
                    list.add(matrix.apply(p + "ffn_up.weight", new int[]{2 * s.ffnDim(), s.dim()}));
                    list.add(matrix.apply(p + "ffn_down.weight", new int[]{s.dim(), s.ffnDim()}));
                }
                default -> {
                    list.add(matrix.apply(p + "ffn_gate.weight", new int[]{s.ffnDim(), s.dim()}));
                    list.add(matrix.apply(p + "ffn_up.weight", new int[]{s.ffnDim(), s.dim()}));
                    list.add(matrix.apply(p + "ffn_down.weight", new int[]{s.dim(), s.ffnDim()}));
                }
            }
            if (gemma) {
                list.add(TensorSpec.norm(p + "post_ffw_norm.weight", s.dim()));
            }
        }
        list.add(TensorSpec.norm("output_norm.weight", s.dim()));
        if (!tied) {
            list.add(matrix.apply("output.weight", new int[]{s.vocab(), s.dim()}));
        }
        return list;
    }

    private static void metadata(GgufWriter w, String family, Shape s, Recipe recipe, long seed) {
        String ggufArch = family.equals("mixtral") ? "llama" : family;
        String arch = ggufArch + ".";
        w.metadata("general.architecture", new GgufValue.Str(ggufArch));
        w.metadata("general.name", new GgufValue.Str("synthetic-" + (family.equals("llama") ? "" : family + "-") + s.name()));
        w.metadata("general.description", new GgufValue.Str("random weights N(0, 1/sqrt(input width)), norms 1, seed " + seed
                + ", shape " + s.name() + ", written by Rewind's SyntheticModel; byte-level vocabulary"));
        w.metadata("general.file_type", u32(recipe.fileType()));
        w.metadata("general.quantization_version", u32(2));
        w.metadata(arch + "context_length", u32(s.contextLength()));
        w.metadata(arch + "embedding_length", u32(s.dim()));
        w.metadata(arch + "block_count", u32(s.layers()));
        w.metadata(arch + "feed_forward_length", u32(s.ffnDim()));
        w.metadata(arch + "attention.head_count", u32(s.heads()));
        w.metadata(arch + "attention.head_count_kv", u32(s.kvHeads()));
        w.metadata(arch + "attention.layer_norm_rms_epsilon", new GgufValue.Real(GgufValueType.FLOAT32, s.rmsEps()));
        w.metadata(arch + "rope.freq_base", new GgufValue.Real(GgufValueType.FLOAT32, s.ropeBase()));
        w.metadata(arch + "rope.dimension_count", u32(s.headDim()));
        w.metadata(arch + "vocab_size", u32(s.vocab()));
        if (!ggufArch.equals("llama")) {
            w.metadata(arch + "attention.key_length", u32(s.headDim()));
            w.metadata(arch + "attention.value_length", u32(s.headDim()));
        }
        switch (family) {
            case "mixtral" -> {
                w.metadata(arch + "expert_count", u32(EXPERTS));
                w.metadata(arch + "expert_used_count", u32(EXPERTS_USED));
            }
            case "gemma2" -> {
                w.metadata(arch + "attention.sliding_window", u32(GEMMA2_WINDOW));
                w.metadata(arch + "attn_logit_softcapping", new GgufValue.Real(GgufValueType.FLOAT32, 50));
                w.metadata(arch + "final_logit_softcapping", new GgufValue.Real(GgufValueType.FLOAT32, 30));
            }
            case "gemma3" -> {
                w.metadata(arch + "attention.sliding_window", u32(GEMMA3_WINDOW));
                w.metadata(arch + "rope.freq_base_swa", new GgufValue.Real(GgufValueType.FLOAT32, FamilyParameters.GEMMA3_LOCAL_ROPE_BASE));
            }
            case "phi3" -> {
                double ratio = (double) s.contextLength() / PHI3_ORIGINAL_CONTEXT;
                double attnFactor = ratio <= 1 ? 1 : Math.sqrt(1 + Math.log(ratio) / Math.log(PHI3_ORIGINAL_CONTEXT));
                w.metadata(arch + "rope.scaling.original_context_length", u32(PHI3_ORIGINAL_CONTEXT));
                w.metadata(arch + "rope.scaling.attn_factor", new GgufValue.Real(GgufValueType.FLOAT32, attnFactor));
            }
            default -> { }
        }

        List<String> tokens = new ArrayList<>(s.vocab());
        double[] scores = new double[s.vocab()];
        long[] types = new long[s.vocab()];
        tokens.add("<unk>");
        types[0] = 2; // UNKNOWN
        tokens.add("<s>");
        types[1] = 3; // CONTROL
        tokens.add("</s>");
        types[2] = 3;
        for (int b = 0; b < 256; b++) {
            tokens.add(String.format("<0x%02X>", b));
            types[3 + b] = 6; // BYTE
        }
        tokens.add(SPACE);
        scores[SPACE_ID] = -SPACE_ID;
        types[SPACE_ID] = 1; // NORMAL
        for (int id = Shape.MIN_VOCAB; id < s.vocab(); id++) {
            tokens.add("\u2581t" + id);
            scores[id] = -id;
            types[id] = 1; // NORMAL
        }
        w.metadata("tokenizer.ggml.model", new GgufValue.Str("llama"));
        w.metadata("tokenizer.ggml.tokens", new GgufValue.StrArray(tokens));
        w.metadata("tokenizer.ggml.scores", new GgufValue.RealArray(GgufValueType.FLOAT32, scores));
        w.metadata("tokenizer.ggml.token_type", new GgufValue.IntArray(GgufValueType.INT32, types));
        w.metadata("tokenizer.ggml.bos_token_id", u32(1));
        w.metadata("tokenizer.ggml.eos_token_id", u32(2));
        w.metadata("tokenizer.ggml.unknown_token_id", u32(0));
    }

    private static GgufValue u32(long v) {
        return new GgufValue.Int(GgufValueType.UINT32, v);
    }

    /**
     * Fills {@code target} with {@code rows} rows of {@code cols} N(0, 1/√cols) weights stored as
     * {@code type}, in batches of about {@link #BATCH_BYTES} whose rows are spread over the pool;
     * {@code bytesDone} is told the bytes filled so far after each batch, on the calling thread.
     */
    private static void fillRandom(MemorySegment target, GgmlType type, int rows, int cols, long tensorSeed,
                                   WorkerPool pool, LongConsumer bytesDone) {
        long rowBytes = Quantizer.bytes(type, cols);
        int rowsPerBatch = (int) Math.max(1, Math.min(rows, BATCH_BYTES / rowBytes));
        float sigma = (float) (1 / Math.sqrt(cols));
        for (int first = 0; first < rows; first += rowsPerBatch) {
            int batchStart = first;
            int batchRows = Math.min(rowsPerBatch, rows - first);
            pool.parallelFor(batchRows, (start, end) -> {
                float[] row = new float[cols];
                for (int r = batchStart + start; r < batchStart + end; r++) {
                    SplittableRandom random = new SplittableRandom(mix(tensorSeed + r * 0x9E37_79B9_7F4A_7C15L));
                    for (int c = 0; c < cols; c++) {
                        row[c] = (float) random.nextGaussian() * sigma;
                    }
                    Quantizer.quantize(type, row, 0, cols, target, r * rowBytes);
                }
            });
            bytesDone.accept((first + batchRows) * rowBytes);
        }
    }

    /** A 64-bit finalizer (Stafford's variant 13 of MurmurHash3's): spreads nearby seeds apart. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }
}
