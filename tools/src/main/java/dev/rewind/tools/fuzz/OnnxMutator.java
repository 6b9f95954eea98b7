package dev.rewind.tools.fuzz;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Mutations of an ONNX file at the protobuf level. The file is parsed once into a tree of fields
 * (the messages Rewind reads, ModelProto → GraphProto → NodeProto/TensorProto → AttributeProto, are
 * opened; every other length-delimited field stays a byte slice of the original). A mutant is that tree
 * with a few edits: a length that lies (off by a few, zero, huge, beyond 32 bits, negative), a varint
 * given a nasty value (dims, data types, data locations, attribute numbers), a field deleted or
 * duplicated, a string replaced (empty, controls, not UTF-8, very long, another field's), a wire type
 * changed, a small tensor's value (a scalar constant: an epsilon, the attention scale) made 0, negative,
 * NaN, infinite or huge, an unknown or invalid field added; the serialized bytes may then be cut or have bytes of
 * their structure (tags, lengths, varints) flipped. Nothing is copied from the original but what a
 * mutant writes out.
 */
final class OnnxMutator {

    private static final int MODEL = 0, GRAPH = 1, NODE = 2, ATTRIBUTE = 3, TENSOR = 4, LEAF = -1;

    /** One field; a message's children, a leaf's slice of {@link #source}, or a varint / fixed value. */
    private static final class Field {
        int owner; // the message type holding it
        int number;
        int wire;
        long value; // varint or fixed
        int offset; // leaf slice
        int length;
        byte[] replaced; // a leaf's new payload
        List<Field> children; // an opened message
        Long lie; // written as the length instead of the true one
        Integer wireOverride;

        Field copy() {
            Field f = new Field();
            f.owner = owner;
            f.number = number;
            f.wire = wire;
            f.value = value;
            f.offset = offset;
            f.length = length;
            f.replaced = replaced;
            f.lie = lie;
            f.wireOverride = wireOverride;
            if (children != null) {
                f.children = new ArrayList<>();
                for (Field c : children) {
                    f.children.add(c.copy());
                }
            }
            return f;
        }
    }

    private final byte[] source;
    private final List<Field> root;

    OnnxMutator(byte[] source) {
        this.source = source;
        this.root = parse(MODEL, 0, source.length);
    }

    private static int childType(int type, int number) {
        return switch (type) {
            case MODEL -> number == 7 ? GRAPH : LEAF;
            case GRAPH -> number == 1 ? NODE : number == 5 ? TENSOR : LEAF;
            case NODE -> number == 5 ? ATTRIBUTE : LEAF;
            case ATTRIBUTE -> number == 5 ? TENSOR : LEAF;
            default -> LEAF;
        };
    }

    private List<Field> parse(int type, int from, int to) {
        List<Field> out = new ArrayList<>();
        int[] pos = {from};
        while (pos[0] < to) {
            long tag = varint(pos);
            Field f = new Field();
            f.owner = type;
            f.number = (int) (tag >>> 3);
            f.wire = (int) (tag & 7);
            switch (f.wire) {
                case 0 -> f.value = varint(pos);
                case 1 -> {
                    f.offset = pos[0];
                    f.length = 8;
                    pos[0] += 8;
                }
                case 5 -> {
                    f.offset = pos[0];
                    f.length = 4;
                    pos[0] += 4;
                }
                case 2 -> {
                    int length = (int) varint(pos);
                    f.offset = pos[0];
                    f.length = length;
                    int child = childType(type, f.number);
                    if (child != LEAF) {
                        f.children = parse(child, pos[0], pos[0] + length);
                    }
                    pos[0] += length;
                }
                default -> throw new IllegalArgumentException("the base ONNX file has wire type " + f.wire + " at byte " + pos[0]);
            }
            out.add(f);
        }
        return out;
    }

    private long varint(int[] pos) {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            byte b = source[pos[0]++];
            v |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return v;
            }
        }
    }

    /** A mutant's bytes and what was done. */
    GgufMutator.Mutant mutate(SplittableRandom random) {
        List<Field> tree = new ArrayList<>();
        for (Field f : root) {
            tree.add(f.copy());
        }
        List<Field[]> all = new ArrayList<>(); // {parent (null for the root), field}
        collect(tree, null, all);
        List<String> done = new ArrayList<>();
        int count = 1 + random.nextInt(3);
        for (int i = 0; i < count; i++) {
            done.add(edit(tree, all, random));
        }
        Writer w = new Writer(size(tree));
        w.write(tree);
        byte[] bytes = w.bytes;
        int after = random.nextInt(6);
        if (after == 0) {
            int cut = random.nextBoolean() ? random.nextInt(bytes.length) : w.structure.get(random.nextInt(w.structure.size()));
            done.add("cut at " + cut);
            bytes = Arrays.copyOf(bytes, cut);
        } else if (after == 1) {
            for (int k = 0; k < 1 + random.nextInt(4); k++) {
                int at = w.structure.get(random.nextInt(w.structure.size()));
                bytes[at] = (byte) (random.nextBoolean() ? bytes[at] ^ (1 << random.nextInt(8)) : random.nextInt(256));
                done.add("structure byte " + at + " flipped");
            }
        }
        return new GgufMutator.Mutant(bytes, String.join("; ", done));
    }

    private static void collect(List<Field> fields, Field parent, List<Field[]> out) {
        for (Field f : fields) {
            out.add(new Field[]{parent, f});
            if (f.children != null) {
                collect(f.children, f, out);
            }
        }
    }

    private static final long[] NASTY = {0, 1, -1, 2, 3, 7, 16, Integer.MAX_VALUE, Integer.MIN_VALUE, 1L << 31, 1L << 32, (1L << 32) + 4,
            Long.MAX_VALUE, Long.MIN_VALUE, 1L << 40, 100_000_000, 384, 1536, 30522};

    private String edit(List<Field> tree, List<Field[]> all, SplittableRandom random) {
        Field[] pick = all.get(random.nextInt(all.size()));
        Field f = pick[1];
        List<Field> siblings = pick[0] == null ? tree : pick[0].children;
        String where = "field " + f.number + " (wire " + f.wire + ")";
        if (random.nextInt(8) == 0) {
            List<Field> small = new ArrayList<>();
            for (Field[] p : all) {
                if (p[1].owner == TENSOR && p[1].number == 9 && p[1].wire == 2 && p[1].children == null && p[1].length <= 64) {
                    small.add(p[1]);
                }
            }
            if (!small.isEmpty()) {
                Field t = small.get(random.nextInt(small.size()));
                float[] values = {0, -1, 2, Float.NaN, Float.POSITIVE_INFINITY, -0f, 1e30f, 1e-45f, 16, 3};
                float v = values[random.nextInt(values.length)];
                byte[] data = Arrays.copyOfRange(source, t.offset, t.offset + t.length);
                if (data.length >= 4) {
                    java.nio.ByteBuffer.wrap(data).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(0, v);
                }
                t.replaced = data;
                return "a small tensor's first value set to " + v;
            }
        }
        switch (random.nextInt(8)) {
            case 0 -> {
                if (f.wire != 2) {
                    return edit(tree, all, random);
                }
                long truth = f.children == null ? (f.replaced != null ? f.replaced.length : f.length) : size(f.children);
                long[] lies = {truth + 1, truth - 1, truth + 1 + random.nextInt(16), Math.max(0, truth - 1 - random.nextInt(16)), 0,
                        Integer.MAX_VALUE, (1L << 32) + truth, -1, Long.MAX_VALUE};
                f.lie = lies[random.nextInt(lies.length)];
                return where + " length " + truth + " written as " + f.lie;
            }
            case 1 -> {
                if (f.wire != 0) {
                    return edit(tree, all, random);
                }
                long old = f.value;
                f.value = random.nextInt(4) == 0 ? old + random.nextInt(5) - 2 : NASTY[random.nextInt(NASTY.length)];
                return where + " varint " + old + " -> " + f.value;
            }
            case 2 -> {
                siblings.remove(f);
                return where + " deleted";
            }
            case 3 -> {
                siblings.add(siblings.indexOf(f) + 1, f.copy());
                return where + " duplicated";
            }
            case 4 -> {
                if (f.wire != 2 || f.children != null || f.length > 4096) {
                    return edit(tree, all, random);
                }
                byte[] nasty = switch (random.nextInt(7)) {
                    case 0 -> new byte[0];
                    case 1 -> "x\nFAKE: injected line\u001b[2J".getBytes(StandardCharsets.UTF_8);
                    case 2 -> new byte[]{(byte) 0xff, (byte) 0xfe, 'a'};
                    case 3 -> "n".repeat(100_000).getBytes(StandardCharsets.US_ASCII);
                    case 4 -> "\u202eevil\u0000".getBytes(StandardCharsets.UTF_8);
                    default -> {
                        Field other = all.get(random.nextInt(all.size()))[1];
                        yield other.wire == 2 && other.children == null && other.length <= 4096
                                ? Arrays.copyOfRange(source, other.offset, other.offset + other.length) : "Erf".getBytes(StandardCharsets.US_ASCII);
                    }
                };
                f.replaced = nasty;
                return where + " bytes replaced (" + nasty.length + ")";
            }
            case 5 -> {
                int wire = new int[]{0, 1, 2, 5, 3, 4, 6, 7}[random.nextInt(8)];
                f.wireOverride = wire;
                return where + " tagged with wire type " + wire;
            }
            case 6 -> {
                Field extra = new Field();
                extra.number = new int[]{0, 1, 2, 5, 7, 9, 14, 536_870_911}[random.nextInt(8)];
                extra.wire = new int[]{0, 2, 2, 3, 6}[random.nextInt(5)];
                extra.value = NASTY[random.nextInt(NASTY.length)];
                extra.replaced = new byte[random.nextInt(12)];
                siblings.add(random.nextInt(siblings.size() + 1), extra);
                return "added field " + extra.number + " (wire " + extra.wire + ")";
            }
            default -> {
                if (f.children == null) {
                    return edit(tree, all, random);
                }
                f.children.clear();
                return where + " emptied";
            }
        }
    }

    private long size(List<Field> fields) {
        long n = 0;
        for (Field f : fields) {
            n += size(f);
        }
        return n;
    }

    private long size(Field f) {
        long n = varintSize(((long) f.number << 3) | wireOf(f));
        return n + switch (f.wire) {
            case 0 -> varintSize(f.value);
            case 2 -> {
                long payload = payload(f);
                yield varintSize(f.lie != null ? f.lie : payload) + payload;
            }
            case 3, 4, 6, 7 -> 0;
            default -> f.replaced != null ? f.replaced.length : f.length;
        };
    }

    private long payload(Field f) {
        return f.children != null ? size(f.children) : f.replaced != null ? f.replaced.length : f.length;
    }

    private static int wireOf(Field f) {
        return f.wireOverride != null ? f.wireOverride : f.wire;
    }

    private static int varintSize(long v) {
        int n = 1;
        while ((v & ~0x7fL) != 0) {
            v >>>= 7;
            n++;
        }
        return n;
    }

    /** Serializes a tree, noting where each tag and length starts. */
    private final class Writer {
        final byte[] bytes;
        final List<Integer> structure = new ArrayList<>();
        int pos;

        Writer(long size) {
            if (size > Integer.MAX_VALUE - 8) {
                throw new IllegalStateException("a mutant of " + size + " bytes");
            }
            bytes = new byte[(int) size];
        }

        void write(List<Field> fields) {
            for (Field f : fields) {
                structure.add(pos);
                varint(((long) f.number << 3) | wireOf(f));
                switch (f.wire) {
                    case 0 -> {
                        structure.add(pos);
                        varint(f.value);
                    }
                    case 2 -> {
                        structure.add(pos);
                        varint(f.lie != null ? f.lie : payload(f));
                        if (f.children != null) {
                            write(f.children);
                        } else {
                            slice(f);
                        }
                    }
                    case 3, 4, 6, 7 -> {
                    }
                    default -> slice(f);
                }
            }
        }

        private void slice(Field f) {
            if (f.replaced != null) {
                System.arraycopy(f.replaced, 0, bytes, pos, f.replaced.length);
                pos += f.replaced.length;
            } else {
                System.arraycopy(source, f.offset, bytes, pos, f.length);
                pos += f.length;
            }
        }

        private void varint(long v) {
            while ((v & ~0x7fL) != 0) {
                bytes[pos++] = (byte) ((v & 0x7f) | 0x80);
                v >>>= 7;
            }
            bytes[pos++] = (byte) v;
        }
    }
}
