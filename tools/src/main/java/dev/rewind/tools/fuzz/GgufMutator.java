package dev.rewind.tools.fuzz;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Mutations of a good GGUF file into the broken ones a careless user or an attacker would hand over:
 * byte flips and truncation anywhere, header counts and lengths that lie, tensor dimensions that
 * overflow, offsets past the end or into another tensor, unknown types, nasty values (zero, huge,
 * negative, NaN, infinite, wrong type, control characters, invalid UTF-8) of the keys the loader relies
 * on, and vocabularies that disagree with the embedding, their scores, types, merges or special ids.
 * A mutant is fully determined by the random generator it is given.
 */
public final class GgufMutator {

    /** A mutant: its bytes and a short description of what was done, for a failure report. */
    public record Mutant(byte[] bytes, String description) {
    }

    /** The kinds of mutation, each applied to a parsed copy or to the serialized bytes. */
    enum Kind { BYTE_FLIPS, TRUNCATE, HEADER_FIELD, KEY_VALUE, VOCABULARY, TENSOR_DIMS, TENSOR_OFFSET, TENSOR_TYPE, TENSOR_NAME,
        ENTRIES, DATA }

    private static final Kind[] IMAGE_KINDS = {Kind.KEY_VALUE, Kind.KEY_VALUE, Kind.KEY_VALUE, Kind.VOCABULARY, Kind.VOCABULARY,
            Kind.TENSOR_DIMS, Kind.TENSOR_OFFSET, Kind.TENSOR_TYPE, Kind.TENSOR_NAME, Kind.ENTRIES, Kind.DATA};

    private static final long[] NASTY_INTS = {0, 1, 2, 3, 7, 31, 255, 65535, 0x7fff_ffffL, 0x8000_0000L, 0xffff_ffffL,
            0x1_0000_0000L, Long.MAX_VALUE, Long.MIN_VALUE, -1, -2};
    private static final float[] NASTY_FLOATS = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, -1f,
            Float.MIN_VALUE, Float.MAX_VALUE, 1e-30f, 1e30f, 0.5f};
    private static final String[] NASTY_STRINGS = {"", "\0", "x\nFAKE: injected line", "\u001b]0;pwned\u0007\u001b[2J\rFAKE",
            "llama", "gpt2", "qwen2", "gemma", "phi3", "bert", "none", "t5", "default", "llama-bpe", "qwen2", "gpt-2", "\u202eevil",
            "xx\0yy", "a".repeat(70_000)};

    /** The keys the loader and the tokenizer read, {@code %s} standing for the architecture. */
    private static final String[] WELL_KNOWN_KEYS = {"general.architecture", "general.alignment", "general.name",
            "%s.context_length", "%s.embedding_length", "%s.block_count", "%s.feed_forward_length", "%s.attention.head_count",
            "%s.attention.head_count_kv", "%s.attention.layer_norm_rms_epsilon", "%s.attention.layer_norm_epsilon",
            "%s.rope.dimension_count", "%s.rope.freq_base", "%s.rope.scaling.type", "%s.rope.scaling.factor",
            "%s.rope.scaling.original_context_length", "%s.expert_count", "%s.expert_used_count", "%s.attention.key_length",
            "%s.attention.value_length", "%s.vocab_size", "%s.attention.sliding_window", "%s.final_logit_softcapping",
            "%s.attn_logit_softcapping", "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.bos_token_id",
            "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id",
            "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token", "tokenizer.ggml.add_space_prefix",
            "tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
            "tokenizer.chat_template"};

    private final GgufImage base;

    /** Mutates copies of {@code base} (a good file, parsed once). */
    public GgufMutator(GgufImage base) {
        this.base = base;
    }

    /** One to three mutations of the base file. */
    public Mutant mutate(SplittableRandom random) {
        GgufImage image = base.copy();
        List<String> done = new ArrayList<>();
        int count = 1 + (random.nextInt(4) == 0 ? 1 + random.nextInt(2) : 0);
        for (int i = 0; i < count; i++) {
            Kind kind = random.nextInt(3) == 0 ? Kind.values()[random.nextInt(3)] : IMAGE_KINDS[random.nextInt(IMAGE_KINDS.length)];
            if (kind == Kind.BYTE_FLIPS || kind == Kind.TRUNCATE || kind == Kind.HEADER_FIELD) {
                done.add(kind.name());
                // byte-level mutations come last, on the serialized result of the others
                return new Mutant(mutateBytes(kind, image.serialize(), random, done), String.join("; ", done));
            }
            done.add(kind.name() + ": " + mutateImage(kind, image, random));
        }
        return new Mutant(image.serialize().bytes(), String.join("; ", done));
    }

    // ---------------------------------------------------------------- byte level

    private static byte[] mutateBytes(Kind kind, GgufImage.Serialized s, SplittableRandom random, List<String> done) {
        byte[] b = s.bytes().clone();
        int headerEnd = s.headerEnd() > 0 ? s.headerEnd() : Math.min(b.length, 1 << 16);
        switch (kind) {
            case BYTE_FLIPS -> {
                int flips = 1 + random.nextInt(8);
                for (int i = 0; i < flips; i++) {
                    int at = random.nextInt(5) == 0 ? random.nextInt(b.length) : random.nextInt(Math.max(1, headerEnd));
                    int bit = random.nextInt(9);
                    b[at] = bit == 8 ? (byte) random.nextInt(256) : (byte) (b[at] ^ (1 << bit));
                    done.add("byte " + at);
                }
                return b;
            }
            case TRUNCATE -> {
                int at = random.nextInt(4) == 0 ? random.nextInt(b.length) : random.nextInt(Math.max(1, headerEnd + 64));
                at = Math.min(at, b.length - 1);
                done.add("cut at " + at);
                return Arrays.copyOf(b, at);
            }
            default -> {
                List<GgufImage.Field> fields = s.fields();
                if (fields.isEmpty()) {
                    return b;
                }
                GgufImage.Field f = fields.get(random.nextInt(fields.size()));
                ByteBuffer buffer = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
                long old = switch (f.width()) {
                    case 1 -> b[f.offset()];
                    case 2 -> buffer.getShort(f.offset());
                    case 4 -> buffer.getInt(f.offset()) & 0xffff_ffffL;
                    default -> buffer.getLong(f.offset());
                };
                long v = switch (random.nextInt(4)) {
                    case 0 -> old + 1;
                    case 1 -> old - 1;
                    case 2 -> old * 2 + random.nextInt(3);
                    default -> NASTY_INTS[random.nextInt(NASTY_INTS.length)];
                };
                switch (f.width()) {
                    case 1 -> b[f.offset()] = (byte) v;
                    case 2 -> buffer.putShort(f.offset(), (short) v);
                    case 4 -> buffer.putInt(f.offset(), (int) v);
                    default -> buffer.putLong(f.offset(), v);
                }
                done.add(f.kind() + " at " + f.offset() + " " + old + " -> " + v);
                return b;
            }
        }
    }

    // ---------------------------------------------------------------- structured

    private String mutateImage(Kind kind, GgufImage image, SplittableRandom random) {
        return switch (kind) {
            case KEY_VALUE -> keyValue(image, random);
            case VOCABULARY -> vocabulary(image, random);
            case TENSOR_DIMS -> tensorDims(image, random);
            case TENSOR_OFFSET -> tensorOffset(image, random);
            case TENSOR_TYPE -> tensorType(image, random);
            case TENSOR_NAME -> tensorName(image, random);
            case ENTRIES -> entries(image, random);
            case DATA -> data(image, random);
            default -> throw new IllegalArgumentException(kind.name());
        };
    }

    private static String keyValue(GgufImage image, SplittableRandom random) {
        String key = WELL_KNOWN_KEYS[random.nextInt(WELL_KNOWN_KEYS.length)].formatted(image.architecture());
        if (random.nextInt(8) == 0) {
            image.remove(key);
            return "removed " + key;
        }
        int original = image.entry(key).map(GgufImage.Entry::type).orElse(GgufImage.UINT32);
        int type = random.nextInt(3) == 0 ? random.nextInt(13) : original;
        byte[] value = nastyValue(type, image.entry(key).map(GgufImage.Entry::value).orElse(null), random);
        image.put(key, type, value);
        return key + " as type " + type;
    }

    /** A nasty encoding for a value of {@code type} ({@code old}, the current encoding when it has that type, may be null). */
    static byte[] nastyValue(int type, byte[] old, SplittableRandom random) {
        return switch (type) {
            case GgufImage.UINT8, GgufImage.INT8, GgufImage.BOOL -> new byte[]{(byte) (random.nextBoolean() ? random.nextInt(3) : random.nextInt(256))};
            case GgufImage.UINT16, GgufImage.INT16 -> Arrays.copyOf(GgufImage.u32(NASTY_INTS[random.nextInt(NASTY_INTS.length)]), 2);
            case GgufImage.UINT32, GgufImage.INT32 -> GgufImage.u32(nastyInt(old, 4, random));
            case GgufImage.UINT64, GgufImage.INT64 -> GgufImage.u64(nastyInt(old, 8, random));
            case GgufImage.FLOAT32 -> GgufImage.f32(NASTY_FLOATS[random.nextInt(NASTY_FLOATS.length)]);
            case GgufImage.FLOAT64 -> GgufImage.f64(NASTY_FLOATS[random.nextInt(NASTY_FLOATS.length)]);
            case GgufImage.STRING -> random.nextInt(5) == 0 ? GgufImage.string(new byte[]{'a', (byte) 0xff, (byte) 0xfe, 'b'})
                    : GgufImage.string(NASTY_STRINGS[random.nextInt(NASTY_STRINGS.length)]);
            default -> { // an array: empty, of a scalar, or of strings
                int element = random.nextInt(13);
                if (element == GgufImage.ARRAY) {
                    yield GgufImage.array(GgufImage.UINT32, 0, new byte[0]);
                }
                if (element == GgufImage.STRING) {
                    List<byte[]> values = new ArrayList<>();
                    for (int i = random.nextInt(4); i > 0; i--) {
                        values.add(NASTY_STRINGS[random.nextInt(NASTY_STRINGS.length - 1)].getBytes(StandardCharsets.UTF_8));
                    }
                    yield GgufImage.stringArray(values);
                }
                int n = random.nextInt(5);
                byte[] elements = new byte[n * GgufImage.width(element)];
                random.nextBytes(elements);
                yield GgufImage.array(element, n, elements);
            }
        };
    }

    private static long nastyInt(byte[] old, int width, SplittableRandom random) {
        long current = 0;
        if (old != null && old.length == width) {
            ByteBuffer b = ByteBuffer.wrap(old).order(ByteOrder.LITTLE_ENDIAN);
            current = width == 4 ? b.getInt(0) & 0xffff_ffffL : b.getLong(0);
        }
        return switch (random.nextInt(5)) {
            case 0 -> current + 1;
            case 1 -> current - 1;
            case 2 -> current * 2;
            case 3 -> current / 2;
            default -> NASTY_INTS[random.nextInt(NASTY_INTS.length)];
        };
    }

    private static String vocabulary(GgufImage image, SplittableRandom random) {
        String[] keys = {"tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.merges"};
        String key = keys[random.nextInt(keys.length)];
        var entry = image.entry(key);
        if (entry.isEmpty() || entry.get().type() != GgufImage.ARRAY) {
            key = "tokenizer.ggml.tokens";
            entry = image.entry(key);
            if (entry.isEmpty() || entry.get().type() != GgufImage.ARRAY) {
                return "no vocabulary";
            }
        }
        GgufImage.Entry e = entry.get();
        int element = GgufImage.arrayType(e);
        int n = (int) GgufImage.arrayLength(e);
        if (element == GgufImage.STRING) {
            List<byte[]> values = new ArrayList<>(GgufImage.stringArray(e));
            String what;
            switch (random.nextInt(6)) {
                case 0 -> {
                    int keep = random.nextBoolean() ? random.nextInt(n + 1) : Math.max(0, n - 1 - random.nextInt(3));
                    values = new ArrayList<>(values.subList(0, keep));
                    what = "cut to " + keep;
                }
                case 1 -> {
                    int extra = 1 + random.nextInt(random.nextBoolean() ? 3 : 1000);
                    for (int i = 0; i < extra; i++) {
                        values.add(("extra" + i).getBytes(StandardCharsets.UTF_8));
                    }
                    what = "extended by " + extra;
                }
                case 2 -> {
                    int at = random.nextInt(Math.max(1, values.size()));
                    if (!values.isEmpty()) {
                        values.set(at, values.get(random.nextInt(values.size())));
                    }
                    what = "duplicate at " + at;
                }
                case 3 -> {
                    int at = random.nextInt(Math.max(1, values.size()));
                    byte[] nasty = NASTY_STRINGS[random.nextInt(NASTY_STRINGS.length)].getBytes(StandardCharsets.UTF_8);
                    if (random.nextInt(3) == 0) {
                        nasty = new byte[]{(byte) 0xc3, (byte) 0x28, (byte) 0xff};
                    }
                    if (!values.isEmpty()) {
                        values.set(at, nasty);
                    }
                    what = "nasty entry at " + at;
                }
                case 4 -> {
                    java.util.Collections.shuffle(values, new java.util.Random(random.nextLong()));
                    what = "shuffled";
                }
                default -> {
                    for (int i = 0; i < 1 + random.nextInt(20); i++) {
                        int at = random.nextInt(Math.max(1, values.size()));
                        if (!values.isEmpty()) {
                            byte[] v = values.get(at).clone();
                            if (v.length > 0) {
                                v[random.nextInt(v.length)] = (byte) random.nextInt(256);
                            }
                            values.set(at, v);
                        }
                    }
                    what = "bytes changed";
                }
            }
            image.put(key, GgufImage.ARRAY, GgufImage.stringArray(values));
            return key + " " + what;
        }
        int width = GgufImage.width(element);
        if (width == 0) {
            return key + " untouched";
        }
        byte[] elements = Arrays.copyOfRange(e.value(), 12, 12 + n * width);
        String what;
        switch (random.nextInt(4)) {
            case 0 -> {
                int keep = random.nextInt(n + 1);
                elements = Arrays.copyOf(elements, keep * width);
                n = keep;
                what = "cut to " + keep;
            }
            case 1 -> {
                int extra = 1 + random.nextInt(100);
                elements = Arrays.copyOf(elements, (n + extra) * width);
                n += extra;
                what = "extended by " + extra;
            }
            case 2 -> {
                for (int i = 0; i < 1 + random.nextInt(10) && n > 0; i++) {
                    int at = random.nextInt(n) * width;
                    byte[] v = width == 4 ? (element == GgufImage.FLOAT32 ? GgufImage.f32(NASTY_FLOATS[random.nextInt(NASTY_FLOATS.length)])
                            : GgufImage.u32(NASTY_INTS[random.nextInt(NASTY_INTS.length)])) : new byte[width];
                    System.arraycopy(v, 0, elements, at, Math.min(width, v.length));
                }
                what = "nasty elements";
            }
            default -> {
                int other = random.nextInt(13);
                int w = Math.max(1, GgufImage.width(other));
                image.put(key, GgufImage.ARRAY, GgufImage.array(other == GgufImage.STRING || other == GgufImage.ARRAY ? GgufImage.UINT8 : other,
                        elements.length / w, Arrays.copyOf(elements, elements.length / w * w)));
                return key + " as elements of type " + other;
            }
        }
        image.put(key, GgufImage.ARRAY, GgufImage.array(element, n, elements));
        return key + " " + what;
    }

    private static int tensorIndex(GgufImage image, SplittableRandom random) {
        return image.tensors.isEmpty() ? -1 : random.nextInt(image.tensors.size());
    }

    private static String tensorDims(GgufImage image, SplittableRandom random) {
        int i = tensorIndex(image, random);
        if (i < 0) {
            return "no tensor";
        }
        GgufImage.Tensor t = image.tensors.get(i);
        long[] dims = t.dims().clone();
        String what;
        switch (random.nextInt(4)) {
            case 0 -> {
                dims = Arrays.copyOf(dims, random.nextInt(6));
                for (int d = t.dims().length; d < dims.length; d++) {
                    dims[d] = 1 + random.nextInt(3);
                }
                what = "now " + dims.length + " dims";
            }
            case 1 -> {
                if (dims.length > 1) {
                    long tmp = dims[0];
                    dims[0] = dims[1];
                    dims[1] = tmp;
                }
                what = "swapped";
            }
            default -> {
                int d = random.nextInt(Math.max(1, dims.length));
                if (dims.length > 0) {
                    dims[d] = switch (random.nextInt(4)) {
                        case 0 -> dims[d] * 2;
                        case 1 -> dims[d] + 1;
                        case 2 -> dims[d] / 2;
                        default -> NASTY_INTS[random.nextInt(NASTY_INTS.length)];
                    };
                }
                what = "dim " + d + " = " + (dims.length > 0 ? dims[d] : 0);
            }
        }
        image.tensors.set(i, new GgufImage.Tensor(t.name(), dims, t.type(), t.offset()));
        return t.nameText() + " " + what;
    }

    private static String tensorOffset(GgufImage image, SplittableRandom random) {
        int i = tensorIndex(image, random);
        if (i < 0) {
            return "no tensor";
        }
        GgufImage.Tensor t = image.tensors.get(i);
        long offset = switch (random.nextInt(5)) {
            case 0 -> image.tensors.get(random.nextInt(image.tensors.size())).offset(); // overlap
            case 1 -> t.offset() + 1 + random.nextInt(31);
            case 2 -> image.data.length - random.nextInt(64);
            case 3 -> t.offset() + 32L * (1 + random.nextInt(4));
            default -> NASTY_INTS[random.nextInt(NASTY_INTS.length)];
        };
        image.tensors.set(i, new GgufImage.Tensor(t.name(), t.dims(), t.type(), offset));
        return t.nameText() + " offset " + offset;
    }

    private static String tensorType(GgufImage image, SplittableRandom random) {
        int i = tensorIndex(image, random);
        if (i < 0) {
            return "no tensor";
        }
        GgufImage.Tensor t = image.tensors.get(i);
        int type = random.nextInt(6) == 0 ? (int) NASTY_INTS[random.nextInt(NASTY_INTS.length)] : random.nextInt(45);
        image.tensors.set(i, new GgufImage.Tensor(t.name(), t.dims(), type, t.offset()));
        return t.nameText() + " type " + type;
    }

    private static String tensorName(GgufImage image, SplittableRandom random) {
        int i = tensorIndex(image, random);
        if (i < 0) {
            return "no tensor";
        }
        GgufImage.Tensor t = image.tensors.get(i);
        switch (random.nextInt(4)) {
            case 0 -> {
                image.tensors.remove(i);
                return "removed " + t.nameText();
            }
            case 1 -> {
                byte[] other = image.tensors.get(random.nextInt(image.tensors.size())).name();
                image.tensors.set(i, new GgufImage.Tensor(other, t.dims(), t.type(), t.offset()));
                return t.nameText() + " renamed to " + new String(other, StandardCharsets.UTF_8);
            }
            case 2 -> {
                image.tensors.add(random.nextInt(image.tensors.size() + 1), t);
                return "repeated " + t.nameText();
            }
            default -> {
                byte[] name = NASTY_STRINGS[random.nextInt(NASTY_STRINGS.length)].getBytes(StandardCharsets.UTF_8);
                image.tensors.set(i, new GgufImage.Tensor(name, t.dims(), t.type(), t.offset()));
                return t.nameText() + " renamed";
            }
        }
    }

    private static String entries(GgufImage image, SplittableRandom random) {
        if (image.entries.isEmpty()) {
            return "no entry";
        }
        int i = random.nextInt(image.entries.size());
        GgufImage.Entry e = image.entries.get(i);
        switch (random.nextInt(5)) {
            case 0 -> {
                image.entries.remove(i);
                return "removed " + e.keyText();
            }
            case 1 -> {
                image.entries.add(random.nextInt(image.entries.size() + 1), e);
                return "repeated " + e.keyText();
            }
            case 2 -> {
                java.util.Collections.shuffle(image.entries, new java.util.Random(random.nextLong()));
                return "shuffled";
            }
            case 3 -> {
                int type = random.nextInt(13);
                image.entries.set(i, new GgufImage.Entry(e.key(), type, nastyValue(type, null, random)));
                return e.keyText() + " retyped " + type;
            }
            default -> {
                image.version = (int) NASTY_INTS[random.nextInt(NASTY_INTS.length)];
                return "version " + image.version;
            }
        }
    }

    private static String data(GgufImage image, SplittableRandom random) {
        byte[] data = image.data.clone();
        if (random.nextBoolean() && data.length > 0) {
            int cut = random.nextInt(data.length);
            image.data = Arrays.copyOf(data, cut);
            return "data cut to " + cut;
        }
        for (int i = 0; i < 1 + random.nextInt(64) && data.length > 0; i++) {
            int at = random.nextInt(data.length);
            data[at] = (byte) (random.nextBoolean() ? 0xff : random.nextInt(256)); // NaNs and infinities in F32/F16 weights and scales
        }
        image.data = data;
        return "data bytes changed";
    }
}
